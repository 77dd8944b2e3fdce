"""The README's Python API snippet runs as written, and the validator extra is enough for it and the CLI.

"Without an extra" is simulated by making its modules unimportable (``sys.modules[name] = None``), which is
what Python does for a module that is not installed as far as ``import`` is concerned.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: what `pip install fhir-family[validator]` does not install
SERVER_AND_HL7_MODULES = ("flask", "werkzeug", "gunicorn", "sqlalchemy", "alembic", "psycopg", "hl7apy")
BLOCK = f"import sys\nfor _name in {SERVER_AND_HL7_MODULES!r}:\n    sys.modules[_name] = None\n"
CLI = BLOCK + "from fhir_family.cli import main\nsys.exit(main())\n"


def readme_python_snippet() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md has no python block under '## Python API'"
    return match.group(1)


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def test_readme_snippet_runs_with_only_the_validator_extra() -> None:
    modules = repr(SERVER_AND_HL7_MODULES)
    check = f"\nfor _name in {modules}:\n    assert sys.modules.get(_name) is None, _name\nprint('ok')\n"
    done = run_python(BLOCK + readme_python_snippet() + check)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_validator_extra_has_no_servers_or_hl7() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}
    assert not names & {"flask", "gunicorn", "sqlalchemy", "alembic", "psycopg", "hl7apy"}, names
    assert project["optional-dependencies"]["validator"] == []
    assert set(project["optional-dependencies"]) >= {"validator", "hl7", "facade", "collector", "all"}
    assert (REPO / "src" / "fhir_family" / "py.typed").is_file()


def test_cli_validate_and_map_work_without_the_extras() -> None:
    valid = run_python(CLI, "validate", "examples/bundles")
    assert valid.returncode == 0, valid.stderr
    invalid = run_python(CLI, "validate", "examples/invalid/child-missing-birthdate.json")
    assert invalid.returncode == 1, invalid.stderr
    mapped = run_python(CLI, "map", "examples/ehr/json/mother-two-children.json")
    assert mapped.returncode == 0, mapped.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["serve", "--port", "0"], "facade"),
        (["collector", "--port", "0"], "collector"),
        (["report"], "collector"),
    ],
    ids=["serve", "collector", "report"],
)
def test_a_command_without_its_extra_names_it(args: list[str], extra: str) -> None:
    done = run_python(CLI, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"needs the '{extra}' extra" in lines[0] and f"pip install 'fhir-family[{extra}]'" in lines[0]


def test_hl7_v2_maps_with_only_the_validator_extra() -> None:
    """HL7 v2 is read by the project's own ER7 reader (mapping/er7.py): no hl7apy, no extra needed."""
    done = run_python(CLI, "map", "examples/ehr/hl7v2/a04-register-mother-two-children.hl7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"resourceType": "Bundle"' in done.stdout or '"resourceType":"Bundle"' in done.stdout
