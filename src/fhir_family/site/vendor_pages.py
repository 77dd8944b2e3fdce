"""The pages an EHR vendor knows from HL7's IG Publisher and looks for first: an artifacts index, a search,
the dependencies, the licences in one place, and a friendly "not found" page.

Built after every other page, from what the builder already made: the search index is the text of the
rendered pages themselves, so it finds exactly what a reader can see. Search runs in the browser from
``search-index.js`` (a script file beside the pages, loaded by ``search.html`` only): no server, no network,
and it works from a file system, a static host and the facade's ``/ig/`` alike.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from ..guide.package import package_manifest

#: The base FHIR specification these pages link to (a reader's browser follows the links; nothing is fetched).
R4_SPEC = "https://hl7.org/fhir/R4"
#: The order the artifacts index lists resource types in (as the IG Publisher's artifacts page does).
ARTIFACT_TYPES = ("StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "ImplementationGuide")
SEARCH_TEXT_LIMIT = 4000
"""Characters of each page's text kept in the index: enough for every heading, code and field name of the
largest pages, small enough that the index stays a few hundred kilobytes."""

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_MAIN = re.compile(r"<main[^>]*>(.*?)</main>", re.S)


def page_text(data: bytes) -> tuple[str, str]:
    """(title, text) of a rendered page: its h1 and the words of its main content."""
    page = data.decode("utf-8")
    title = _TITLE.search(page)
    main = _MAIN.search(page)
    words = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", main.group(1) if main else page))).strip()
    heading = _SPACE.sub(" ", html.unescape(_TAG.sub("", title.group(1)))).strip() if title else ""
    return heading, words


def search_index_js(files: dict[str, bytes]) -> bytes:
    """Every HTML page's title and text, as a script defining ``SEARCH_INDEX``."""
    entries = []
    for name in sorted(files):
        if not name.endswith(".html") or name in ("search.html", "404.html"):
            continue
        title, text = page_text(files[name])
        entries.append({"page": name, "title": title or name, "text": text[:SEARCH_TEXT_LIMIT]})
    body = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f"window.SEARCH_INDEX = {body};\n".encode()


def artifact_groups(
    resources: list[dict[str, Any]], link: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """The guide's resources by type (profiles apart from extensions), each with its page and description."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        kind = resource.get("resourceType", "")
        if kind == "StructureDefinition":
            kind = "Extension" if resource.get("type") == "Extension" else "Profile"
        page = link(resource.get("url", ""))
        if page:
            groups.setdefault(kind, []).append({
                "page": page, "name": resource.get("title") or resource.get("name") or resource.get("id"),
                "id": resource.get("id"), "resourceType": resource.get("resourceType"),
                "description": (resource.get("description") or "").split("\n", 1)[0],
            })
    order = ["Profile", "Extension", *ARTIFACT_TYPES[1:]]
    return [{"kind": kind, "items": sorted(groups[kind], key=lambda item: str(item["name"]).lower())}
            for kind in order if kind in groups]


def dependencies(metadata: Any) -> list[dict[str, str]]:
    """The packages this guide depends on, as package.json says, with where each is described."""
    found = []
    for name, version in package_manifest(metadata)["dependencies"].items():
        spec = R4_SPEC if name == "hl7.fhir.r4.core" else f"https://packages.fhir.org/{name}/{version}"
        found.append({"name": name, "version": version, "href": spec})
    return found


_CORE_PAGE = re.compile(r"^http://hl7\.org/fhir/(ValueSet|CodeSystem)/([A-Za-z0-9.\-]+)$")
_THO_PAGE = re.compile(r"^http://terminology\.hl7\.org/(ValueSet|CodeSystem)/([A-Za-z0-9.\-]+)$")


def spec_link(url: str) -> str | None:
    """Where a reader finds a value set or code system the guide uses but does not define: its page in the
    R4 specification (core) or on terminology.hl7.org (THO); None for anything else."""
    canonical = url.split("|", 1)[0]
    core = _CORE_PAGE.match(canonical)
    if core:
        return f"{R4_SPEC}/{core[1].lower()}-{core[2]}.html"
    tho = _THO_PAGE.match(canonical)
    if tho:
        return f"https://terminology.hl7.org/{tho[1]}-{tho[2]}.html"
    return None
