"""FHIR XML -> the JSON form the validator reads, driven by R4 core's own StructureDefinitions.

The XML syntax is parsed by lxml (entities not resolved, no network, no DTD accepted, so no XML bomb or
external entity gets in). What is FHIR-specific is the mapping to JSON, and that comes from the core
definitions rather than a hand-written table: an element repeats (JSON array) when its definition's ``max``
is not 1; a primitive's ``value`` attribute becomes a JSON boolean, number or string by its type, and its
``id``/``extension`` go to ``_name``; ``value[x]`` is recognised by its type suffix; a Resource-typed element
(``contained``, ``Bundle.entry.resource``) wraps the resource; ``Narrative.div`` stays XHTML text; attributes
are the elements whose definition says ``xmlAttr`` (``id``, ``Extension.url``).

Content the definitions do not know is kept, not dropped, so the validator reports it where it is (an unknown
element becomes an unknown JSON property). Element order is not checked (JSON has none).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lxml import etree

from ..errors import InputError

__all__ = ["FHIR_NS", "XmlConverter", "looks_like_xml"]

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
SYSTEM_STRING = "http://hl7.org/fhirpath/System.String"
INTEGER_TYPES = {"integer", "positiveInt", "unsignedInt"}

Resource = dict[str, Any]
Element = dict[str, Any]
#: type name ("Patient", "HumanName") -> its core StructureDefinition, or None
DefinitionLookup = Callable[[str], Resource | None]


def looks_like_xml(text: str) -> bool:
    """True when a document starts (after whitespace and a BOM) with ``<``: XML, not JSON."""
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )


class _Type:
    """One type's snapshot elements by path, and which paths are choice elements."""

    def __init__(self, sd: Resource) -> None:
        self.name: str = sd["type"]
        self.elements: dict[str, Element] = {}
        self.choices: dict[str, list[tuple[str, Element]]] = {}  # parent path -> [(prefix, element)]
        for element in (sd.get("snapshot") or {}).get("element", []):
            path = element.get("path", "")
            self.elements[path] = element
            if path.endswith("[x]"):
                parent, _, name = path.rpartition(".")
                self.choices.setdefault(parent, []).append((name[:-3], element))

    def child(self, parent_path: str, name: str) -> tuple[Element, str | None] | None:
        """The definition of child ``name`` of ``parent_path`` and, for a choice element, the chosen type."""
        element = self.elements.get(f"{parent_path}.{name}")
        if element is not None:
            return element, None
        for prefix, choice in self.choices.get(parent_path, []):
            suffix = name[len(prefix):]
            if name.startswith(prefix) and suffix:
                for type_ in choice.get("type", []):
                    code = type_.get("code", "")
                    if code[:1].upper() + code[1:] == suffix:
                        return choice, code
        return None


class XmlTypes:
    """The core types' element order and kinds, read once per type name: what both directions need."""

    def __init__(self, lookup: DefinitionLookup) -> None:
        self._lookup = lookup
        self._types: dict[str, _Type | None] = {}

    def _type(self, name: str) -> _Type | None:
        if name not in self._types:
            sd = self._lookup(name)
            self._types[name] = _Type(sd) if sd is not None and sd.get("snapshot") else None
        return self._types[name]


class XmlConverter(XmlTypes):
    """Converts FHIR XML documents to FHIR JSON (as Python objects) using core type definitions."""

    # -- public ------------------------------------------------------------------------------------

    def parse(self, data: bytes | str, origin: str) -> Resource:
        """The resource in an XML document; InputError (with the line) when it is not FHIR XML."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            root = etree.fromstring(raw, _parser())
        except etree.XMLSyntaxError as exc:
            raise InputError(f"{origin}: not well-formed XML ({exc})") from exc
        tree = root.getroottree()
        if tree.docinfo.doctype:
            raise InputError(f"{origin}: a DOCTYPE is not allowed in FHIR XML")
        return self.resource(root, origin)

    def resource(self, node: etree._Element, origin: str) -> Resource:
        """One resource element (``<Patient xmlns="http://hl7.org/fhir">``) as JSON."""
        namespace, name = _split(node.tag)
        if namespace != FHIR_NS:
            where = f"{origin}:{node.sourceline}"
            found = f"in namespace {namespace!r}" if namespace else "without a namespace"
            raise InputError(f"{where}: <{name}> is {found}; FHIR XML uses xmlns=\"{FHIR_NS}\"")
        type_ = self._type(name)
        if type_ is None or type_.elements.get(name, {}).get("path") != name:
            raise InputError(f"{origin}:{node.sourceline}: <{name}> is not an R4 resource type")
        result: Resource = {"resourceType": name}
        self._complex(node, type_, name, result, origin)
        return result

    # -- conversion --------------------------------------------------------------------------------

    def _complex(
        self, node: etree._Element, type_: _Type | None, path: str, out: Resource, origin: str
    ) -> None:
        """Attributes and children of a complex element into ``out``."""
        for attribute, value in node.attrib.items():
            namespace, name = _split(attribute)
            if namespace is None:
                out[name] = value  # id, Extension.url; anything else is reported as an unknown element
        groups: dict[str, list[etree._Element]] = {}
        for child in node:
            if not isinstance(child.tag, str):
                continue
            namespace, name = _split(child.tag)
            if namespace not in (FHIR_NS, XHTML_NS):
                raise InputError(
                    f"{origin}:{child.sourceline}: <{name}> in namespace {namespace!r} inside {path}"
                )
            groups.setdefault(name, []).append(child)
        for name, children in groups.items():
            found = type_.child(path, name) if type_ is not None else None
            self._element(name, children, found, type_, out, origin)

    def _element(
        self,
        name: str,
        children: list[etree._Element],
        found: tuple[Element, str | None] | None,
        owner: _Type | None,
        out: Resource,
        origin: str,
    ) -> None:
        """All the same-named children of one element, into ``out[name]`` (and ``out["_" + name]``)."""
        element, chosen = found if found is not None else (None, None)
        repeats = element is not None and element.get("max") != "1"
        codes = [chosen] if chosen else [t.get("code", "") for t in (element or {}).get("type", [])]
        code = codes[0] if len(codes) == 1 else ""
        if code == SYSTEM_STRING:
            code = "string"
        if element is not None and code == "xhtml":
            values: list[Any] = [_xhtml(child) for child in children]
            out[name] = values if repeats else values[0]
            return
        if element is None:
            # Unknown to the definitions: kept in its most likely JSON shape so the validator reports it.
            primitive = all("value" in c.attrib and len(c) == 0 for c in children)
            code = "string" if primitive else ""
        if code and code[0].islower():
            self._primitive(name, children, code, repeats or len(children) > 1, out, origin)
            return
        items: list[Any] = []
        for child in children:
            if code in ("Resource", "DomainResource"):
                items.append(self._wrapped_resource(child, origin))
                continue
            value: Resource = {}
            if element is not None and (not code or code in ("BackboneElement", "Element")):
                target = element.get("contentReference", "").lstrip("#") or element["path"]
                self._complex(child, owner, target, value, origin)
            else:
                self._complex(child, self._type(code) if code else None, code, value, origin)
            items.append(value)
        out[name] = items if repeats or len(items) > 1 else items[0]

    def _wrapped_resource(self, wrapper: etree._Element, origin: str) -> Any:
        inner = [c for c in wrapper if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise InputError(
                f"{origin}:{wrapper.sourceline}: <{_split(wrapper.tag)[1]}> must hold exactly one resource"
            )
        return self.resource(inner[0], origin)

    def _primitive(
        self, name: str, children: list[etree._Element], code: str, repeats: bool, out: Resource, origin: str
    ) -> None:
        values: list[Any] = []
        extras: list[Resource | None] = []
        for child in children:
            raw = child.attrib.get("value")
            values.append(None if raw is None else _typed(raw, code))
            extra: Resource = {}  # the primitive's id and extensions: its Element part, JSON's _name
            self._complex(child, self._type("Element"), "Element", extra, origin)
            extra.pop("value", None)
            extras.append(extra or None)
        if repeats:
            if any(v is not None for v in values):
                out[name] = values
            if any(e is not None for e in extras):
                out[f"_{name}"] = extras
            return
        if values[0] is not None:
            out[name] = values[0]
        if extras[0] is not None:
            out[f"_{name}"] = extras[0]


def _copy(node: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(node))


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _typed(raw: str, code: str) -> Any:
    """A primitive's XML value as the JSON value its type calls for; left a string when it is not one."""
    if code == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if code in INTEGER_TYPES or code == "decimal":
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return raw
        return value
    return raw


def _xhtml(node: etree._Element) -> str:
    copy = _copy(node)
    copy.tail = None
    return etree.tostring(copy, encoding="unicode")
