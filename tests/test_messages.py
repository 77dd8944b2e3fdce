"""The one list of message ids (``fhir_family.messages``): every id used in src/ is listed there and named
by its constant, every listed id is used, and docs/messages.md documents exactly the list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fhir_family import messages

SRC = Path(messages.__file__).resolve().parent
DOC = SRC.parents[1] / "docs" / "messages.md"
ID = re.compile(r"FF-[A-Z0-9]+(?:-[A-Z0-9]+)*")


def _modules() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if p != Path(messages.__file__).resolve()]


def literal_ids(path: Path) -> list[str]:
    """String constants in a module that are a message id (a docstring that mentions one is not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{node.lineno}: {node.value}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ID.fullmatch(node.value)]


def used_names() -> set[str]:
    """Names read as ``msg.X`` or ``messages.X`` anywhere in src/ outside the list itself."""
    names: set[str] = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in (
                "msg", "messages", "_messages"
            ):
                names.add(node.attr)
    return names


def test_no_message_id_is_written_as_a_string_outside_the_list() -> None:
    assert [hit for path in _modules() for hit in literal_ids(path)] == []


def test_the_literal_finder_finds_literals(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Mentions FF-INPUT in prose."""\nx = "FF-INPUT"\ny = msg.INPUT\n')
    assert literal_ids(sample) == ["sample.py:2: FF-INPUT"]


def test_every_listed_id_is_used() -> None:
    unused = sorted(set(messages.ALL) - used_names())
    assert unused == []
    assert "http_status" in used_names()


def test_ids_are_distinct_and_well_formed() -> None:
    values = list(messages.ALL.values())
    assert len(values) == len(set(values))
    assert all(ID.fullmatch(value) for value in values)
    assert messages.http_status(404) == "FF-HTTP-404"
    assert set(messages.VALIDATOR_NAMES) <= set(messages.ALL)


def test_docs_messages_md_lists_exactly_the_ids() -> None:
    documented = re.findall(r"^\| `(FF-[A-Z0-9<>a-z-]+)` \|", DOC.read_text(encoding="utf-8"), re.M)
    assert len(documented) == len(set(documented)), "an id is documented twice"
    assert set(documented) == set(messages.ALL.values()) | {"FF-HTTP-<status>"}


def test_the_validator_ids_are_in_the_list() -> None:
    """conformance/ uses ``msg.X`` from the one list; its subset is named so its README can be checked."""
    assert {messages.ALL[name] for name in messages.VALIDATOR_NAMES} >= {"FF-CARDINALITY-MIN", "FF-INTERNAL"}
