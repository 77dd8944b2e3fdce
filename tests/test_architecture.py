"""The shape of the package: no import cycle among fhir_family's modules; the pure packages stay pure.

The import graph is read from the source with ``ast`` (every ``import`` and ``from ... import``, including
those inside functions, since a deferred import is still a dependency), so a cycle is caught before it bites
at import time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "fhir_family"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in (SRC / PACKAGE).rglob("*.py")
        if "migrations" not in path.parts  # Alembic scripts are loaded by Alembic, not imported
    }


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> the fhir_family modules it imports (a name imported from a package counts when it is a
    submodule, else the package itself)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith(PACKAGE):
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path of modules), or None. Packages' ``__init__`` re-exports are edges too."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _is_parent_package_edge(a: str, b: str) -> bool:
    """A package's ``__init__`` importing its own submodule (and the submodule's implicit parent import) is
    how Python packages work, not a design cycle."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    graph = {a: {b for b in targets if not _is_parent_package_edge(a, b)} for a, targets in graph.items()}
    assert _cycle(graph) is None, "import cycle: " + " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_deferred_imports() -> None:
    """An import inside a function is an edge: the collector's blueprints once imported app.py that way."""
    graph = import_graph()
    assert "fhir_family.collector.http" in graph["fhir_family.collector.bulk"]
    assert "fhir_family.conformance" in graph["fhir_family.validation"]  # imported inside _default()


@pytest.mark.parametrize(
    "package",
    ["fhir_family.conformance", "fhir_family.mapping", "fhir_family.model", "fhir_family.guide",
     "fhir_family.collector.client"],
)
def test_pure_packages_load_neither_flask_nor_sqlalchemy(package: str) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({package!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


#: Names that are a role every Flask app has (its factory, its response/error helpers), one per app by design.
PER_APP_ROLES = {"app.py", "http.py"}
#: Files whose name is the module's place in a package, not what it does.
PACKAGE_FILES = {"__init__.py", "__main__.py"}


def shared_file_names() -> dict[str, list[str]]:
    """file name -> the modules under src/fhir_family that have it, for names held by more than one module.

    ``commands/X.py`` is the ``fhir-family X`` command, so it is named by the CLI and may share its name with
    the library module it drives (``commands/submit.py`` calls the collector client, not
    ``facade/submit.py``).
    """
    by_name: dict[str, list[str]] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        relative = path.relative_to(SRC / PACKAGE)
        exempt = path.name in PACKAGE_FILES | PER_APP_ROLES or relative.parts[0] == "commands"
        if exempt or "migrations" in relative.parts:
            continue
        by_name.setdefault(path.name, []).append(relative.as_posix())
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def test_no_two_modules_share_a_file_name() -> None:
    """A name says what a module does, once: two ``terminology.py`` or two ``errors.py`` made every grep and
    traceback ambiguous."""
    assert shared_file_names() == {}


def test_the_app_roles_are_the_only_shared_names() -> None:
    """The exemption stays narrow: each Flask app has exactly one module per role and nothing else does."""
    for role in PER_APP_ROLES:
        holders = sorted(p.relative_to(SRC / PACKAGE).as_posix() for p in (SRC / PACKAGE).rglob(role))
        assert holders == [f"collector/{role}", f"facade/{role}"]


def _positional_issue_calls(source: str, name: str = "<src>") -> list[str]:
    """Every ``Issue(...)`` call that passes an argument by position (``Issue`` is keyword-only)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called == "Issue":
                found.append(f"{name}:{node.lineno}")
    return found


def test_every_issue_is_built_with_keywords() -> None:
    """``Issue`` takes keywords only, so which string is the diagnostics and which the message id is always
    written at the call; a positional call would fail at run time, on whatever path reaches it first."""
    from fhir_family.outcome import Issue, IssueSeverity, IssueType

    with pytest.raises(TypeError):
        Issue(IssueSeverity.ERROR, IssueType.VALUE, "positional")  # type: ignore[misc]
    calls = [
        call
        for path in sorted(SRC.rglob("*.py"))
        for call in _positional_issue_calls(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    ]
    assert calls == []
    assert _positional_issue_calls("Issue(IssueSeverity.ERROR, IssueType.VALUE, 'x')") == ["<src>:1"]
