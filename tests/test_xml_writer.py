"""``conformance.xml_writer``: every guide resource and example written as FHIR XML reads back, with the
project's own XML reader, as the very JSON it was written from; and the XML follows the definitions' order
and attribute rules (checked on a Bundle)."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from fhir_family.conformance.packages import DefinitionStore
from fhir_family.conformance.xml_format import FHIR_NS, XmlConverter
from fhir_family.conformance.xml_writer import XmlWriter
from fhir_family.guide import core_package_dir, examples_dir, guide_resources_dir


@pytest.fixture(scope="module")
def store() -> DefinitionStore:
    return DefinitionStore(core_package_dir(), [guide_resources_dir()])


def _documents() -> list:
    paths = sorted(guide_resources_dir().glob("*.json")) + sorted((examples_dir() / "bundles").glob("*.json"))
    return [pytest.param(path, id=path.name) for path in paths]


@pytest.mark.parametrize("path", _documents())
def test_written_xml_reads_back_as_the_same_json(store: DefinitionStore, path) -> None:
    resource = json.loads(path.read_text(encoding="utf-8"))
    xml = XmlWriter(store.structure_definition).to_xml(resource)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert XmlConverter(store.structure_definition).parse(xml, path.name) == resource


def test_order_attributes_and_primitives_follow_the_definitions(store: DefinitionStore) -> None:
    bundle = json.loads((examples_dir() / "bundles" / "young-carer-daughter.json").read_text())
    root = etree.fromstring(XmlWriter(store.structure_definition).to_xml(bundle))
    ns = {"f": FHIR_NS}
    names = [etree.QName(child).localname for child in root]
    assert names[:5] == ["id", "meta", "identifier", "type", "timestamp"]
    assert root.find("f:type", ns).get("value") == "transaction"
    patient = root.find("f:entry/f:resource/f:Patient", ns)
    children = [etree.QName(child).localname for child in patient]
    assert children.index("extension") < children.index("identifier") < children.index("birthDate")
    extension = patient.find("f:extension", ns)
    assert extension.get("url", "").startswith("https://fhir-family.uk/fhir/StructureDefinition/")
