"""Generate examples/bundles and examples/invalid from ReturnRecords, so no example JSON is edited by hand.

``build_examples(root)`` rewrites ``root/bundles/*.json`` (valid national returns, see ``valid.py``) and
``root/invalid/*.json`` beside ``*.expected.json`` (one fault each, see ``invalid.py``) and ``root/README.md``
(the table of them, see ``readme.py``), and deletes JSON files in those two folders that it no longer makes.
It also rewrites ``root/ehr/**/X.expected.json`` beside each hand-written EHR input (see ``ehr_expected.py``).
Output is byte-stable (insertion-ordered keys, 2-space indent, trailing newline) so
``python -m fhir_family.guide.build --check`` can compare it with what is committed.

    python -m fhir_family.guide.examples            # writes into the repository's examples/
    make ig-check                                     # fails when any of them is stale
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir_family.mapping.bundle import build_bundle

from .ehr_expected import ehr_expected_documents
from .invalid import INVALID_EXAMPLES as INVALID_EXAMPLES
from .invalid import ExpectedIssue as ExpectedIssue
from .invalid import InvalidExample as InvalidExample
from .readme import render_readme
from .valid import VALID_EXAMPLES as VALID_EXAMPLES

README = "README.md"
VALID_DIR = "bundles"
INVALID_DIR = "invalid"

__all__ = [
    "INVALID_EXAMPLES",
    "VALID_EXAMPLES",
    "ExpectedIssue",
    "InvalidExample",
    "build_examples",
    "render",
]


def render(document: Any) -> str:
    """The one serialisation every example file uses."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def example_documents() -> dict[str, Any]:
    """Relative path (``bundles/x.json``) -> JSON document, for every generated example file."""
    documents: dict[str, Any] = {}
    for stem, (_, record) in VALID_EXAMPLES.items():
        documents[f"{VALID_DIR}/{stem}.json"] = with_id(build_bundle(record), stem)
    for example in INVALID_EXAMPLES:
        documents[f"{INVALID_DIR}/{example.name}.json"] = example.build()
        documents[f"{INVALID_DIR}/{example.name}.expected.json"] = example.expected_json()
    return documents


def with_id(bundle: dict[str, Any], slug: str) -> dict[str, Any]:
    """The example Bundle with ``id`` = its file slug (right after ``resourceType``), so the
    ImplementationGuide resource can list it as ``Bundle/<slug>``. A sender's Bundle needs no id."""
    return {"resourceType": bundle["resourceType"], "id": slug, **{k: v for k, v in bundle.items()
                                                                  if k != "resourceType"}}


def build_examples(root: Path) -> list[Path]:
    """(Re)write every generated example under ``root`` (the examples folder); return the paths, sorted.

    A file whose content is already right is left untouched; a JSON file in ``bundles/`` or ``invalid/`` that
    the builder no longer makes is deleted, so renamed examples do not linger.
    """
    root = Path(root)
    texts = {relative: render(document) for relative, document in example_documents().items()}
    texts[README] = render_readme()
    texts.update({relative: render(document) for relative, document in ehr_expected_documents(root).items()})
    written: list[Path] = []
    for relative, text in sorted(texts.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    keep = set(written)
    for folder in (VALID_DIR, INVALID_DIR):
        for stale in sorted((root / folder).glob("*.json")):
            if stale not in keep:
                stale.unlink()
    return written
