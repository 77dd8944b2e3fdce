"""The compiled payload schema check (``mapping/payload_fast.py``) never accepts what jsonschema refuses.

It may only answer "conforms"; jsonschema judges everything else. So the one thing that must never happen is
a payload the compiled check accepts while jsonschema finds an error: thousands of seeded random mutations
of the example payloads (wrong types, impossible dates, unknown fields, removed fields, repeated and
emptied lists, other enum codes, long strings) are checked for it.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from fhir_family.guide import examples_dir
from fhir_family.mapping import payload
from fhir_family.mapping.payload_fast import compile_conforms

ODD_VALUES: list[Any] = [
    None, "", "x", 0, -1, 1, 1.5, 2.0, True, False, [], {}, [{}], "2026-02-30", "2026-13-01", "20260101",
    "2026-1-01", "2026-10-31", "9434765919", "943476591", "Y", "N", "UNK", "yes", "x" * 300, "https://x",
    "not a uri", "2026-10-31T10:00:00Z", 10**12,
]


def _examples() -> list[dict]:
    folder = examples_dir() / "ehr" / "json"
    found = []
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if payload._fast_conforms()(data):
            found.append(data)
    return found


def _enum_values() -> list[Any]:
    values: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            values.extend(node.get("enum", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload.payload_schema())
    return values


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _mutate(data: Any, rng: random.Random, pool: list[Any]) -> Any:
    path = rng.choice(_paths(data))
    if not path:
        return rng.choice(pool)
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.randrange(6)
    if action == 0 and isinstance(parent, dict):
        del parent[last]
    elif action == 1 and isinstance(parent, dict):
        parent[rng.choice(["extra", "nhsnumber", "Help", "x"])] = rng.choice(pool)
    elif action == 2 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif action == 3 and isinstance(parent[last], list):
        parent[last] = []
    else:
        parent[last] = copy.deepcopy(rng.choice(pool))
    return data


def test_the_compiled_check_is_in_use_for_the_published_schema() -> None:
    assert payload._fast_conforms() is not None
    assert _examples(), "no valid example payload?"


def test_dependent_required_is_compiled_as_draft_07_dependencies() -> None:
    """The v2 payload uses dependentRequired (a child's NHS number verification needs the NHS number)."""
    check = compile_conforms({"type": "object", "dependentRequired": {"a": ["b"]}})
    assert check is not None
    assert check({"a": 1, "b": 2}) and check({"b": 2}) and not check({"a": 1})


def test_never_accepts_what_jsonschema_refuses() -> None:
    rng = random.Random(20261130)
    pool = ODD_VALUES + _enum_values()
    check, reference = payload._fast_conforms(), payload._schema_validator()
    examples = _examples()
    accepted = refused = agreed = 0
    for _ in range(4000):
        data = copy.deepcopy(rng.choice(examples))
        for _step in range(rng.randint(1, 3)):
            data = _mutate(data, rng, pool)
        errors = list(reference.iter_errors(data))
        if check(data):
            accepted += 1
            assert errors == [], json.dumps(data)[:500]
        else:
            refused += 1
        agreed += check(data) == (not errors)
    assert accepted > 100 and refused > 1000  # the mutations reach both answers
    assert agreed > 0.95 * 4000  # and the fast answer is the usual one (else it saves nothing)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "unevaluatedProperties": False},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}}},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}},
    ],
)
def test_a_schema_beyond_what_it_implements_is_not_compiled(schema: dict) -> None:
    assert compile_conforms(schema) is None


def test_formats_are_jsonschemas_not_fastjsonschemas() -> None:
    check = compile_conforms({"type": "string", "format": "date"})
    assert check is not None
    assert check("2026-02-28") and not check("2026-02-30")
