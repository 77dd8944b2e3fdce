"""Read the collector's Bulk Data export (``fhir-family export``): ``manifest.json`` plus one NDJSON file per
resource type, a resource per line. Streamed line by line, so an export larger than memory still reads.

The manifest's ``url`` values are the absolute file URIs of the moment of export; a folder copied elsewhere
still reads, because each file is looked up by its name inside the export folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .exceptions import ExportReadError


def export_files(folder: Path, file_format: str = "ndjson") -> dict[str, list[Path]]:
    """Resource type -> its NDJSON files, as the manifest's ``output`` lists them; with ``file_format`` =
    ``parquet``, its Parquet files, as the manifest's ``extension.parquet`` lists them."""
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise ExportReadError(f"{folder}: no such export folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExportReadError(f"{manifest_path}: missing (not a 'fhir-family export' folder?)") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportReadError(f"{manifest_path}: cannot read it ({exc})") from exc
    outputs = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(outputs, list):
        raise ExportReadError(f"{manifest_path}: no 'output' list")
    if file_format == "parquet":
        outputs = (manifest.get("extension") or {}).get("parquet")
        if not isinstance(outputs, list):
            raise ExportReadError(
                f"{manifest_path}: no Parquet listed (extension.parquet); export again without --no-parquet"
            )
    files: dict[str, list[Path]] = {}
    for index, item in enumerate(outputs):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not item.get("url"):
            raise ExportReadError(f"{manifest_path}: output[{index}] needs a type and a url")
        path = folder / Path(unquote(urlparse(str(item["url"])).path)).name
        if not path.is_file():
            raise ExportReadError(f"{manifest_path}: output[{index}] names {path.name}, not in {folder}")
        files.setdefault(item["type"], []).append(path)
    return files


def read_ndjson(paths: list[Path], resource_type: str | None = None) -> Iterator[dict[str, Any]]:
    """Every resource of the files, in order; a line that is not a resource is an error naming file:line."""
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    resource = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ExportReadError(f"{path.name}:{number}: not JSON ({exc.msg})") from exc
                if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                    raise ExportReadError(f"{path.name}:{number}: not a FHIR resource")
                if resource_type and resource["resourceType"] != resource_type:
                    raise ExportReadError(
                        f"{path.name}:{number}: a {resource['resourceType']} in the {resource_type} file"
                    )
                yield resource


def read_parquet(
    duckdb: Any, paths: list[Path], resource_type: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every resource of the export's Parquet files, as the JSON it was exported from: DuckDB's rows carry a
    null for every element a resource lacks (one schema for the whole file), which are dropped again."""
    con = duckdb.connect()
    try:
        for path in paths:
            try:
                cursor = con.execute("SELECT to_json(t) FROM read_parquet(?) t", [str(path)])
            except duckdb.Error as exc:
                raise ExportReadError(f"{path.name}: not readable Parquet ({exc})") from exc
            number = 0
            while rows := cursor.fetchmany(1000):
                for (text,) in rows:
                    number += 1
                    resource = _without_nulls(json.loads(text))
                    if not isinstance(resource.get("resourceType"), str):
                        raise ExportReadError(f"{path.name}: row {number} is not a FHIR resource")
                    if resource_type and resource["resourceType"] != resource_type:
                        raise ExportReadError(
                            f"{path.name}: row {number} is a {resource['resourceType']} in the "
                            f"{resource_type} file"
                        )
                    yield resource
    finally:
        con.close()


def _without_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_nulls(value) for key, value in node.items() if value is not None}
    if isinstance(node, list):
        return [_without_nulls(item) for item in node]
    return node
