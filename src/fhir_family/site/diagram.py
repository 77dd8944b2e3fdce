"""The home page's "model at a glance": which profile references which, and which extension sits where.

The layout is computed from the StructureDefinitions' differentials (extension slices and Reference target
profiles), so the picture cannot drift from the guide; the template draws it as inline SVG (no script, no
network), and the home page repeats the same facts as a table for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Resource = dict[str, Any]
Linker = Callable[[str], str | None]

WIDTH = 860
PROFILE_X, PROFILE_W = 120, 320
EXT_X, EXT_W = 520, 320
LINE_H = 18
HEADER_H = 44
GAP = 18
CHAR_W = 7.0
#: Bundle entry order of the national return (docs/model.md); other types follow by name.
TYPE_ORDER = ["Organization", "Patient", "EpisodeOfCare", "RelatedPerson"]


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float
    title: str
    subtitle: str
    href: str | None
    kind: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Connector:
    path: str
    label: str
    label_x: float
    label_y: float
    kind: str


@dataclass
class Diagram:
    width: float
    height: float
    boxes: list[Box]
    connectors: list[Connector]
    container: Box | None
    summary: list[dict[str, str]]


@dataclass
class ExtensionUse:
    slice_name: str
    cardinality: str
    url: str


def _fit(text: str, width: float) -> str:
    limit = int((width - 20) / CHAR_W)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def extension_uses(sd: Resource) -> list[ExtensionUse]:
    """The extension slices a profile's differential declares, in order."""
    uses = []
    for element in sd.get("differential", {}).get("element", []):
        if not element.get("sliceName") or not element.get("path", "").endswith("extension"):
            continue
        for type_ in element.get("type", []):
            for url in type_.get("profile", []):
                uses.append(ExtensionUse(element["sliceName"],
                                         f"{element.get('min', 0)}..{element.get('max', '*')}", url))
    return uses


def references(sd: Resource, profile_urls: set[str]) -> list[tuple[str, str]]:
    """(element name, target profile url) for each Reference in the differential aimed at a guide profile."""
    found = []
    for element in sd.get("differential", {}).get("element", []):
        for type_ in element.get("type", []):
            for url in type_.get("targetProfile", []):
                if url in profile_urls:
                    found.append((element["path"].split(".", 1)[-1], url))
    return found


def extension_lines(sd: Resource, names: dict[str, str], with_binding: bool = False) -> list[str]:
    """What an extension carries: its sub-extensions with cardinality, or its value type and binding."""
    parts: list[tuple[str, str]] = []
    value_types: dict[str, str] = {}
    for element in sd.get("differential", {}).get("element", []):
        path, element_id = element.get("path", ""), element.get("id", "")
        if path == "Extension.extension" and element.get("sliceName") and element_id.count(".") == 1:
            cardinality = f"{element.get('min', 0)}..{element.get('max', '*')}"
            parts.append((element_id, f"{element['sliceName']} {cardinality}"))
        if path.endswith("value[x]") and element.get("max") != "0" and element.get("type"):
            types = "|".join(t["code"] for t in element["type"])
            binding = element.get("binding", {}).get("valueSet")
            if binding and with_binding:
                types += f" ({names.get(binding, binding.rsplit('/', 1)[-1])})"
            value_types[element_id.rsplit(".value[x]", 1)[0]] = types
    if parts:
        return [f"{label} {value_types[part_id]}" if part_id in value_types else label
                for part_id, label in parts]
    if "Extension" in value_types:
        return [f"value: {value_types['Extension']}"]
    return []


def bundle_summary(sd: Resource) -> str:
    """``profile of Bundle · type = transaction · entry 3..*`` from the Bundle profile's differential."""
    parts = [f"profile of {sd['type']}"]
    for element in sd.get("differential", {}).get("element", []):
        if element.get("path") == "Bundle.type" and element.get("fixedCode"):
            parts.append(f"type = {element['fixedCode']}")
        if element.get("path") == "Bundle.entry" and "min" in element:
            parts.append(f"entry {element['min']}..{element.get('max', '*')}")
    return " · ".join(parts)


def _sort_key(sd: Resource) -> tuple[int, str]:
    type_name = sd.get("type", "")
    rank = TYPE_ORDER.index(type_name) if type_name in TYPE_ORDER else len(TYPE_ORDER)
    return rank, sd.get("name", "")


def build_diagram(structure_definitions: list[Resource], linker: Linker, names: dict[str, str]) -> Diagram:
    """Lay out the guide's profiles (left), the extensions each carries (right) and references (left arcs)."""
    profiles = [sd for sd in structure_definitions if sd.get("type") != "Extension"]
    extensions = {sd["url"]: sd for sd in structure_definitions if sd.get("type") == "Extension"}
    bundles = [sd for sd in profiles if sd.get("type") == "Bundle"]
    entries = sorted((sd for sd in profiles if sd.get("type") != "Bundle"), key=_sort_key)
    profile_urls = {sd["url"] for sd in profiles}
    boxes: list[Box] = []
    connectors: list[Connector] = []
    summary: list[dict[str, str]] = []
    y = 20.0
    for sd in bundles:
        box = Box(PROFILE_X - 60, y, WIDTH - PROFILE_X + 40, HEADER_H, names.get(sd["url"], sd["name"]),
                  bundle_summary(sd), linker(sd["url"]), "bundle")
        boxes.append(box)
        y += box.h + GAP
    container_top = y
    if bundles:
        y += 28
    placed: dict[str, Box] = {}
    used_extensions: set[str] = set()
    for sd in entries:
        uses = extension_uses(sd)
        refs = references(sd, profile_urls)
        lines = [f"{name} → {names.get(url, url.rsplit('/', 1)[-1])}" for name, url in refs]
        profile_box = Box(PROFILE_X, y, PROFILE_W, HEADER_H + LINE_H * len(lines) + (6 if lines else 0),
                          names.get(sd["url"], sd["name"]), f"profile of {sd['type']}", linker(sd["url"]),
                          "profile", [_fit(line, PROFILE_W) for line in lines])
        boxes.append(profile_box)
        placed[sd["url"]] = profile_box
        ext_y = y
        for index, use in enumerate(uses):
            ext = extensions.get(use.url)
            used_extensions.add(use.url)
            ext_lines = extension_lines(ext, names) if ext else []
            title = names.get(use.url, use.url.rsplit("/", 1)[-1])
            ext_box = Box(EXT_X, ext_y, EXT_W, HEADER_H + LINE_H * len(ext_lines) + (6 if ext_lines else 0),
                          title, f"extension {use.slice_name}", linker(use.url), "extension",
                          [_fit(line, EXT_W) for line in ext_lines])
            boxes.append(ext_box)
            start_y = profile_box.y + 22 + min(index * 8, profile_box.h - 30)
            end_y = ext_box.y + 22
            connectors.append(Connector(
                f"M {PROFILE_X + PROFILE_W} {start_y} C {PROFILE_X + PROFILE_W + 40} {start_y}, "
                f"{EXT_X - 40} {end_y}, {EXT_X} {end_y}",
                use.cardinality, EXT_X - 8, end_y - 5, "extension"))
            summary.append({"profile": names.get(sd["url"], sd["name"]),
                            "profile_href": linker(sd["url"]) or "",
                            "element": f"extension:{use.slice_name}",
                            "cardinality": use.cardinality, "extension": title,
                            "extension_href": linker(use.url) or "",
                            "carries": "; ".join(extension_lines(ext, names, True) if ext else [])})
            ext_y += ext_box.h + 10
        y = max(profile_box.y + profile_box.h, ext_y - 10) + GAP + 8
    unused = [url for url in sorted(extensions) if url not in used_extensions]
    for url in unused:
        ext_lines = extension_lines(extensions[url], names)
        box = Box(EXT_X, y, EXT_W, HEADER_H + LINE_H * len(ext_lines) + (6 if ext_lines else 0),
                  names.get(url, url.rsplit("/", 1)[-1]), "extension (not used by a profile)", linker(url),
                  "extension", [_fit(line, EXT_W) for line in ext_lines])
        boxes.append(box)
        y += box.h + GAP
    container = None
    if bundles:
        container = Box(PROFILE_X - 40, container_top, WIDTH - PROFILE_X + 20, y - container_top,
                        "entry.resource", "", None, "container")
        y += 10
    arc = 0
    incoming: dict[str, int] = {}
    for sd in entries:
        source = placed[sd["url"]]
        for index, (_name, url) in enumerate(references(sd, profile_urls)):
            target = placed.get(url)
            if target is None:
                continue
            start_y = source.y + HEADER_H + LINE_H * index + 2
            # Arrows into the same box land a few pixels apart, so each stays visible.
            end_y = target.y + 12 + 7 * incoming.get(url, 0)
            incoming[url] = incoming.get(url, 0) + 1
            bulge = PROFILE_X - 30 - 12 * (arc % 5)
            arc += 1
            connectors.append(Connector(
                f"M {PROFILE_X} {start_y} C {bulge} {start_y}, {bulge} {end_y}, {PROFILE_X - 2} {end_y}",
                "", 0, 0, "reference"))
    for box in boxes:
        box.title = _fit(box.title, box.w)
    return Diagram(WIDTH, y + 10, boxes, connectors, container, summary)
