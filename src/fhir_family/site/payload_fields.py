"""The EHR JSON payload contract as a field table, generated from its JSON Schema.

The schema is the authority: each field's description says which FHIR element it becomes, so the table is
the schema made readable rather than a second description that could drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fhir_family.mapping

SCHEMA_DIR = Path(fhir_family.mapping.__file__).resolve().parent / "schema"
MAX_ENUM_SHOWN = 8


@dataclass(frozen=True)
class FieldRow:
    pointer: str
    depth: int
    type: str
    required: bool
    description: str


def schema_paths(folder: Path | None = None) -> list[Path]:
    """The published JSON Schemas of the EHR payload contract, by name."""
    folder = folder or SCHEMA_DIR
    return sorted(folder.glob("*.schema.json")) if folder.is_dir() else []


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A node with a local ``$ref`` merged under its own keywords (the node's description wins)."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = schema
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    merged = {**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}
    return merged


def _type_label(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"const {json.dumps(node['const'])}"
    if "enum" in node:
        values = [str(v) for v in node["enum"]]
        shown = ", ".join(values[:MAX_ENUM_SHOWN])
        return f"one of {shown}" + (f" … ({len(values)} codes)" if len(values) > MAX_ENUM_SHOWN else "")
    type_ = node.get("type", "any")
    label = "|".join(type_) if isinstance(type_, list) else str(type_)
    if node.get("format"):
        label += f" ({node['format']})"
    return label


def field_rows(schema: dict[str, Any]) -> list[FieldRow]:
    """Every property of the payload, depth-first, as a JSON pointer with ``/-`` for array items."""
    rows: list[FieldRow] = []

    def walk(node: dict[str, Any], pointer: str, depth: int) -> None:
        node = _resolve(node, schema)
        required = set(node.get("required", []))
        for name, child in node.get("properties", {}).items():
            child = _resolve(child, schema)
            child_pointer = f"{pointer}/{name}"
            rows.append(FieldRow(child_pointer, depth, _type_label(child), name in required,
                                 child.get("description", "")))
            if child.get("type") == "array" and isinstance(child.get("items"), dict):
                items = _resolve(child["items"], schema)
                if items.get("properties"):
                    walk(items, f"{child_pointer}/-", depth + 1)
            elif child.get("properties"):
                walk(child, child_pointer, depth + 1)

    walk(schema, "", 0)
    return rows
