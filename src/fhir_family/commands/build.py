"""``fhir-family build``: the guide as a FHIR NPM package tarball for vendors' tooling."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FhirFamilyError
from ..guide.package import build_package
from .exits import fail
from .options import GUIDE_OPTION, examples_option, out_option


@click.command("build")
@out_option("dist", "Folder to write <package-id>-<version>.tgz into.")
@GUIDE_OPTION
@examples_option("whose bundles/ are packaged")
def command(out_dir: Path, guide_dir: Path | None, examples_root: Path | None) -> None:
    """Build the guide as a FHIR NPM package (dist/*.tgz)."""
    try:
        path = build_package(out_dir, guide_dir, examples_root)
    except FhirFamilyError as exc:
        fail("build", str(exc))
    click.echo(str(path))
