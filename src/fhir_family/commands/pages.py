"""``fhir-family pages``: the guide's static HTML pages, for any static host (every link is relative)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FhirFamilyError


@click.command("pages")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("site"),
              show_default=True, help="Folder to write the pages into.")
def command(out_dir: Path) -> None:
    """Build the guide's static HTML pages."""
    from ..site.builder import build_site

    try:
        written = build_site(out_dir)
    except FhirFamilyError as exc:
        raise click.ClickException(str(exc)) from exc
    pages = sum(1 for path in written if path.suffix == ".html")
    click.echo(f"{pages} pages written to {out_dir}/ (open {out_dir / 'index.html'})")
