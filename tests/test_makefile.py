"""``make run`` as a newcomer meets it, read from make's dry run (nothing is installed or started): it
installs only what running needs and shows pip's progress, passes the ports it is given, and says where the
command is."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(*args: str) -> list[str]:
    # -B: print every step, as on a fresh clone, whatever this checkout has already built.
    # --no-print-directory: under `make test` (as CI runs the suite) this make is a sub-make, which would
    # otherwise add "Entering/Leaving directory" lines.
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_run_installs_the_running_extras_with_progress_and_passes_ports():
    steps = _dry_run("run", "FACADE_PORT=9101", "COLLECTOR_PORT=9102")
    installs = [step for step in steps if " install " in step and "pip" in step]
    assert any("-e '.[all]'" in step for step in installs), steps
    assert not any("[dev]" in step or "--quiet" in step for step in installs), installs
    assert steps[-1].endswith("fhir-family up --facade-port 9101 --collector-port 9102")
    assert any("source .venv/bin/activate" in step for step in steps)


def test_make_test_still_installs_the_development_extras():
    assert any("-e '.[dev]'" in step for step in _dry_run("test"))


def test_what_make_run_installs_includes_the_mesh_sandbox_up_starts():
    """`up` sends the EHR examples by MESH through a mesh-sandbox it starts (issue 15): '.[all]', what
    `make run` installs, must bring it, or the demo silently skips MESH."""
    import re
    import tomllib

    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def resolved(name: str) -> set[str]:
        names = set()
        for requirement in extras[name]:
            nested = re.fullmatch(r"fhir-family\[(.+)\]", requirement)
            if nested:
                for extra in nested.group(1).split(","):
                    names |= resolved(extra.strip())
            else:
                names.add(re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0])
        return names

    assert {"mesh-sandbox", "uvicorn", "mesh-client", "flask", "sqlalchemy"} <= resolved("all")
