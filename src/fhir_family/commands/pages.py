"""``fhir-family pages``: the guide's static HTML pages, for any static host (every link is relative)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FhirFamilyError
from .exits import fail


@click.command("pages")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("site"),
              show_default=True, help="Folder to write the pages into.")
@click.option("--guide", "guide_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the guide's JSON resources (default: profiles/fsh-generated/resources).")
@click.option("--examples", "examples_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Examples folder with bundles/ and invalid/ (default: examples/).")
def command(out_dir: Path, guide_dir: Path | None, examples_root: Path | None) -> None:
    """Build the guide's static HTML pages."""
    from ..site.builder import SiteBuilder, write_site

    try:
        written = write_site(out_dir, SiteBuilder(guide_dir=guide_dir, examples_root=examples_root).build())
    except FhirFamilyError as exc:
        fail("pages", str(exc))
    pages = sum(1 for path in written if path.suffix == ".html")
    click.echo(f"{pages} pages written to {out_dir}/ (open {out_dir / 'index.html'})")
