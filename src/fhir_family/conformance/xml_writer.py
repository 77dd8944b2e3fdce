"""FHIR JSON -> FHIR XML, driven by R4 core's StructureDefinitions: the reverse of ``xml_format``.

The guide's pages offer every resource and example as XML as well as JSON, as the IG Publisher does. The
rules come from the core definitions, as in the reader: children are written in the order of the type's
snapshot (XML order is significant, JSON's is not); ``id`` of an element and ``Extension.url`` are
attributes (``xmlAttr``); a primitive is ``<name value="..."/>`` with its ``_name`` id and extensions inside;
``value[x]`` keeps its JSON name; a Resource-typed element wraps the resource; ``Narrative.div`` is written as
the XHTML it holds. ``tests/test_xml_writer.py`` reads every written resource back with ``xml_format`` and
gets the same JSON.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from .xml_format import FHIR_NS, XmlTypes, _parser, _Type

__all__ = ["XmlWriter"]

Resource = dict[str, Any]
_NS = f"{{{FHIR_NS}}}"


class XmlWriter(XmlTypes):
    """Writes FHIR JSON resources (Python objects) as FHIR XML using core type definitions."""

    def to_xml(self, resource: Resource) -> bytes:
        """The resource as an indented, UTF-8 FHIR XML document."""
        root = self._resource(resource)
        etree.indent(root, space="  ")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"

    def _resource(self, resource: Resource) -> etree._Element:
        name = resource["resourceType"]
        node = etree.Element(_NS + name, nsmap={None: FHIR_NS})
        content = {k: v for k, v in resource.items() if k != "resourceType"}
        self._complex(node, content, self._type(name), name, attributes=False)
        return node

    def _order(self, type_: _Type | None, path: str, keys: list[str]) -> list[str]:
        """JSON keys in the order the definition lists the elements (unknown ones last, as given)."""
        if type_ is None:
            return keys
        rank = {p: i for i, p in enumerate(type_.elements)}

        def position(key: str) -> int:
            found = type_.child(path, key)
            return rank.get(found[0]["path"], len(rank)) if found else len(rank)

        return sorted(keys, key=position)

    def _complex(self, node: etree._Element, value: Resource, type_: _Type | None, path: str,
                 attributes: bool = True) -> None:
        keys = [k for k in value if not k.startswith("_")]
        keys += [k[1:] for k in value if k.startswith("_") and k[1:] not in value]  # primitive with no value
        for key in self._order(type_, path, keys):
            if (attributes and key == "id") or (key == "url" and path == "Extension"):
                node.set(key, str(value[key]))
                continue
            found = type_.child(path, key) if type_ is not None else None
            element, chosen = found if found is not None else (None, None)
            codes = [chosen] if chosen else [t.get("code", "") for t in (element or {}).get("type", [])]
            code = codes[0] if len(codes) == 1 else ""
            items = value.get(key)
            extras = value.get(f"_{key}")
            if not isinstance(items, list):
                items = [items] * (len(extras) if isinstance(extras, list) else 1)
            if not isinstance(extras, list):
                extras = [extras] * len(items)
            for item, extra in zip(items, extras, strict=False):
                self._element(node, key, item, extra, element, code, type_)

    def _element(self, parent: etree._Element, name: str, item: Any, extra: Any, element: Resource | None,
                 code: str, owner: _Type | None) -> None:
        if code == "xhtml" and isinstance(item, str):
            parent.append(etree.fromstring(item.encode("utf-8"), _parser()))
            return
        child = etree.SubElement(parent, _NS + name)
        if isinstance(item, dict) and "resourceType" in item:
            child.append(self._resource(item))
            return
        if isinstance(item, dict):
            if element is not None and (not code or code in ("BackboneElement", "Element")):
                target = element.get("contentReference", "").lstrip("#") or element["path"]
                self._complex(child, item, owner, target)
            else:
                self._complex(child, item, self._type(code) if code else None, code)
            return
        if item is not None:
            child.set("value", _text(item))
        if isinstance(extra, dict):
            self._complex(child, extra, self._type("Element"), "Element")


def _text(value: Any) -> str:
    """A JSON primitive as its XML value attribute: booleans lower case, numbers as JSON writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)
