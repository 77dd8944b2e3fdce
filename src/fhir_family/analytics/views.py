"""The guide's ViewDefinitions (``profiles/views/*.json``, one hand-written file per view), compiled.

A view's table name is its ``name`` (``national_return``); adding a column is one entry in the JSON file.
``FHIR_FAMILY_VIEWS`` points elsewhere (a national analyst's own views, or a later version).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import guide
from .exceptions import ViewDefinitionError
from .viewdefinition import ViewDefinition, read_view


def views_dir() -> Path:
    """``FHIR_FAMILY_VIEWS``, else the guide's views (package data when installed, else the checkout's)."""
    override = os.environ.get("FHIR_FAMILY_VIEWS")
    return Path(override) if override else guide.views_dir()


def load_views(folder: Path | None = None) -> dict[str, ViewDefinition]:
    """Table name -> compiled view, for every ``*.json`` in the folder (sorted by file name)."""
    folder = folder or views_dir()
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise ViewDefinitionError(f"No ViewDefinitions (*.json) in {folder}")
    views: dict[str, ViewDefinition] = {}
    for path in paths:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ViewDefinitionError(f"{path}: cannot read the ViewDefinition ({exc})") from exc
        try:
            view = read_view(raw)
        except ViewDefinitionError as exc:
            raise ViewDefinitionError(f"{path.name}: {exc}") from exc
        if not view.name:
            raise ViewDefinitionError(f"{path.name}: a ViewDefinition needs a name (its table name)")
        if view.name in views:
            raise ViewDefinitionError(f"{path.name}: a second view named {view.name}")
        views[view.name] = view
    return views
