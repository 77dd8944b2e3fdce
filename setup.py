"""Build hook: the wheel carries the guide's files as package data, copied from their one home at build time.

The guide's generated resources (``profiles/fsh-generated/resources``), ``profiles/sushi-config.yaml``, the
examples and the Markdown docs live once, where they are edited and reviewed. ``build_py`` copies them into
``fhir_family/_data/`` inside the build tree only, so an installed wheel has them (see
``fhir_family.guide``) and the repository never holds a second copy. Editable installs skip the copy: they
read the checkout directly. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: name under fhir_family/_data -> its place in the checkout (keep in step with fhir_family.guide)
BUNDLED = {
    "guide": ROOT / "profiles" / "fsh-generated" / "resources",
    "examples": ROOT / "examples",
    "docs": ROOT / "docs",
    "sushi-config.yaml": ROOT / "profiles" / "sushi-config.yaml",
    "views": ROOT / "profiles" / "views",
}
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithGuide(build_py):
    """``build_py`` plus the guide's files under ``fhir_family/_data``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "fhir_family" / "_data"
        for name, source in BUNDLED.items():
            if not source.exists():
                raise SystemExit(f"setup.py: {source} is missing; the wheel would ship without the guide")
            destination = target / name
            if destination.exists():
                shutil.rmtree(destination) if destination.is_dir() else destination.unlink()
            destination.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, destination, ignore=SKIP)
            else:
                shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildPyWithGuide})
