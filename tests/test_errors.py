"""One error catalogue: every exception the project raises on purpose is a FhirFamilyError with a message id,
and every command names its exit status the same way."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fhir_family
from fhir_family.cli import main
from fhir_family.commands.exits import ExitCode
from fhir_family.errors import FhirFamilyError
from fhir_family.outcome import message_id


def _project_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(fhir_family.__path__, "fhir_family."):
        if ".migrations" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ModuleNotFoundError as exc:  # an optional extra that is not installed here
            if (exc.name or "").startswith("fhir_family"):
                raise
            continue
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if (issubclass(value, BaseException) and value.__module__ == info.name
                    and not value.__name__.startswith("_")):
                found.append(value)
    return found


EXCEPTIONS = _project_exceptions()


def test_the_catalogue_is_not_empty() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"InputError", "IgBuildError", "SubmissionConflictError", "SiteBuildError", "DefinitionError",
            "SnapshotError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_project_exception_is_a_fhir_family_error_with_a_message_id(cls: type[BaseException]) -> None:
    assert issubclass(cls, FhirFamilyError), f"{cls.__name__} sits outside the project's root error"
    assert cls.message_id.startswith("FF-")
    assert isinstance(cls.http_status, int)


def test_an_error_raised_with_only_a_message_carries_its_class_message_id() -> None:
    from fhir_family.collector.store import SubmissionConflictError
    from fhir_family.conformance.compiler import DefinitionError
    from fhir_family.conformance.snapshot import SnapshotError
    from fhir_family.errors import InputError
    from fhir_family.guide.build import IgBuildError

    for cls, expected in [(InputError, "FF-INPUT"), (SubmissionConflictError, "FF-COLLECTOR-CONFLICT"),
                          (IgBuildError, "FF-IG-BUILD"), (DefinitionError, "FF-DEFINITION"),
                          (SnapshotError, "FF-SNAPSHOT")]:
        [issue] = cls("something was wrong").outcome["issue"]
        assert message_id(issue) == expected and issue["diagnostics"] == "something was wrong"


def test_exit_codes_are_named_once() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2]


def _literal_exits(path: Path) -> list[str]:
    """Literal exit statuses in one module: ``sys.exit(2)``, ``SystemExit(1)``, ``exit(2 if x else 0)``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = ast.unparse(node.func)
            if name in ("sys.exit", "SystemExit", "exit", "ctx.exit") and isinstance(node.args[0].value, int):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.IfExp) and any(isinstance(v, ast.Constant) and isinstance(v.value, int)
                                               for v in (node.body, node.orelse)):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_cli_exits_only_with_named_codes(tmp_path: Path) -> None:
    """Every ``fhir-family`` command says ExitCode.X, so a status means the same thing everywhere."""
    commands = Path(fhir_family.__file__).parent / "commands"
    modules = [commands.parent / "cli.py", *sorted(commands.glob("*.py"))]
    assert [hit for module in modules for hit in _literal_exits(module)] == []
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\nsys.exit(2)\nsys.exit(2 if bad else 0)\nsys.exit(ExitCode.OK)\n")
    assert len(_literal_exits(sample)) == 2


@pytest.mark.parametrize("command", ["build", "pages"])
def test_build_and_pages_exit_unusable_on_a_missing_guide(command: str, tmp_path: Path) -> None:
    """Like every other command, unusable input is exit 2 (it was 1 for these two)."""
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, [command, "--out", str(tmp_path / "out"), "--guide", str(missing)])
    assert result.exit_code == ExitCode.UNUSABLE == 2
    assert result.stderr.startswith(f"fhir-family {command}: ") and "nowhere" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
