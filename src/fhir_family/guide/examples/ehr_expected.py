"""``examples/ehr/**/X.expected.json``: what each hand-written EHR input maps to, generated, not hand-edited.

The inputs (JSON payloads, HL7 v2 messages, CSV and NDJSON batches) are written by hand: they are what EHRs
send. What they map to is not: each input goes through the real parser and ``MappingPipeline`` (without the
validator, as ``tests/test_mapping_examples.py`` reads them) and ``mapping.summary.summarise`` gives the
stable summary. The description of each input is its row in ``examples/ehr/README.md``, so the README and
the expected files cannot disagree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fhir_family.mapping.factory import get_parser, guess_format
from fhir_family.mapping.pipeline import MappingPipeline
from fhir_family.mapping.summary import summarise

EHR_DIR = "ehr"
EXPECTED_SUFFIX = ".expected.json"
_ROW = re.compile(r"^\| `([^`]+)` \| (.+) \|$")


def ehr_inputs(ehr_root: Path) -> list[Path]:
    """Every EHR input under ``ehr_root`` (not the expected files, not the README), sorted."""
    return sorted(
        path for path in ehr_root.rglob("*")
        if path.is_file() and not path.name.endswith(EXPECTED_SUFFIX) and path.suffix != ".md"
    )


def readme_descriptions(ehr_root: Path) -> dict[str, str]:
    """File name -> its "maps to" text, from the README's tables."""
    readme = ehr_root / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines() if readme.is_file() else []
    return {match.group(1): match.group(2) for line in lines if (match := _ROW.match(line))}


def expected_document(path: Path, description: str) -> dict[str, Any]:
    """The ``X.expected.json`` document for input ``path``."""
    fmt = guess_format(path)
    pipeline = MappingPipeline(validate=False)
    with path.open(encoding="utf-8-sig", newline="" if fmt == "csv" else None) as source:
        items = [summarise(mapped) for mapped in pipeline.map_stream(get_parser(fmt), source)]
    return {"description": description, "format": fmt, "items": items}


def ehr_expected_documents(examples_root: Path) -> dict[str, dict[str, Any]]:
    """Relative path (``ehr/json/x.expected.json``) -> document, for every input under ``examples_root/ehr``.

    An input without a row in the README is a ValueError naming it: describe it there first.
    """
    ehr_root = examples_root / EHR_DIR
    if not ehr_root.is_dir():
        return {}
    descriptions = readme_descriptions(ehr_root)
    documents = {}
    for path in ehr_inputs(ehr_root):
        if path.name not in descriptions:
            raise ValueError(f"{path} has no row in {ehr_root / 'README.md'}: describe what it maps to there")
        relative = path.with_name(path.stem + EXPECTED_SUFFIX).relative_to(examples_root).as_posix()
        documents[relative] = expected_document(path, descriptions[path.name])
    return documents
