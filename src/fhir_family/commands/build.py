"""``fhir-family build``: the guide as a FHIR NPM package tarball for vendors' tooling."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FhirFamilyError
from ..igpackage import build_package
from .exits import fail


@click.command("build")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to write <package-id>-<version>.tgz into.")
@click.option("--guide", "guide_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the guide's JSON resources (default: profiles/fsh-generated/resources).")
@click.option("--examples", "examples_root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Examples folder whose bundles/ are packaged (default: examples/).")
def command(out_dir: Path, guide_dir: Path | None, examples_root: Path | None) -> None:
    """Build the guide as a FHIR NPM package (dist/*.tgz)."""
    try:
        path = build_package(out_dir, guide_dir, examples_root)
    except FhirFamilyError as exc:
        fail("build", str(exc))
    click.echo(str(path))
