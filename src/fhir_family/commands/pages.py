"""``fhir-family pages``: the guide's static HTML pages, for any static host (every link is relative)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FhirFamilyError
from .exits import fail
from .options import GUIDE_OPTION, examples_option, out_option


@click.command("pages")
@out_option("site", "Folder to write the pages into.")
@GUIDE_OPTION
@examples_option("with bundles/ and invalid/")
def command(out_dir: Path, guide_dir: Path | None, examples_root: Path | None) -> None:
    """Build the guide's static HTML pages."""
    from ..site.builder import SiteBuilder, write_site

    try:
        written = write_site(out_dir, SiteBuilder(guide_dir=guide_dir, examples_root=examples_root).build())
    except FhirFamilyError as exc:
        fail("pages", str(exc))
    pages = sum(1 for path in written if path.suffix == ".html")
    click.echo(f"{pages} pages written to {out_dir}/ (open {out_dir / 'index.html'})")
