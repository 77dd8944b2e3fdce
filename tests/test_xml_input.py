"""FHIR XML input: resources and conformance resources, converted by the core definitions and validated.

fhir.resources (an independent implementation) writes the XML of the examples; reading it back must give the
very JSON the examples hold, and validating it the very outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.structuredefinition import StructureDefinition

from fhir_family.cli import main
from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.xml_format import XmlConverter
from fhir_family.errors import InputError
from fhir_family.guide import CANONICAL
from fhir_family.outcome import message_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VALID = sorted((EXAMPLES / "bundles").glob("*.json"))
INVALID = sorted(p for p in (EXAMPLES / "invalid").glob("*.json") if ".expected." not in p.name)


@pytest.fixture(scope="module")
def converter() -> XmlConverter:
    return XmlConverter(default_validator().store.structure_definition)


def to_xml(bundle: dict[str, Any]) -> bytes:
    return Bundle.model_validate(bundle).model_dump_xml()


def normalised(bundle: dict[str, Any]) -> dict[str, Any]:
    """fhir.resources writes instants with +00:00 where the examples have Z; nothing else differs."""
    copy = json.loads(json.dumps(bundle))
    if isinstance(copy.get("timestamp"), str):
        copy["timestamp"] = copy["timestamp"].replace("+00:00", "Z")
    return copy


def found(outcome: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (i["severity"], ",".join(i.get("expression", [])), message_id(i) or "") for i in outcome["issue"]
    )


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples_read_back_from_xml(path: Path, converter: XmlConverter) -> None:
    bundle = json.loads(path.read_text())
    assert normalised(converter.parse(to_xml(bundle), str(path))) == bundle


def test_invalid_examples_give_the_same_outcome_in_xml(converter: XmlConverter) -> None:
    validator = default_validator()
    compared = 0
    for path in INVALID:
        bundle = json.loads(path.read_text())
        try:
            xml = to_xml(bundle)
        except ValueError:  # fhir.resources refuses to write some broken shapes (a number as a date)
            continue
        back = converter.parse(xml, str(path))
        assert found(validator.validate(back)) == found(validator.validate(normalised(bundle))), path.name
        compared += 1
    assert compared >= 15


PATIENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment is not data -->
<Patient xmlns="http://hl7.org/fhir">
  <id value="p1"/>
  <text>
    <status value="generated"/>
    <div xmlns="http://www.w3.org/1999/xhtml"><p>Jo <b>Bloggs</b></p></div>
  </text>
  <contained>
    <Organization><id value="org"/><active value="true"/><name value="Clinic"/></Organization>
  </contained>
  <extension url="http://hl7.org/fhir/StructureDefinition/patient-birthPlace">
    <valueAddress><city value="Leeds"/></valueAddress>
  </extension>
  <active value="false"/>
  <name>
    <given value="Jo"/>
    <given id="g2"><extension url="http://example.org/x"><valueInteger value="7"/></extension></given>
  </name>
  <birthDate value="1980-01-02">
    <extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime">
      <valueDateTime value="1980-01-02T03:04:05Z"/>
    </extension>
  </birthDate>
  <multipleBirthInteger value="2"/>
  <managingOrganization><reference value="#org"/></managingOrganization>
</Patient>
"""


def test_hand_written_xml_maps_every_fhir_json_rule(converter: XmlConverter) -> None:
    patient = converter.parse(PATIENT_XML, "patient.xml")
    assert patient == {
        "resourceType": "Patient",
        "id": "p1",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Jo <b>Bloggs</b></p></div>',
        },
        "contained": [{"resourceType": "Organization", "id": "org", "active": True, "name": "Clinic"}],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {"city": "Leeds"},
            }
        ],
        "active": False,
        "name": [
            {
                "given": ["Jo", None],
                "_given": [
                    None,
                    {"id": "g2", "extension": [{"url": "http://example.org/x", "valueInteger": 7}]},
                ],
            }
        ],
        "birthDate": "1980-01-02",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1980-01-02T03:04:05Z",
                }
            ]
        },
        "multipleBirthInteger": 2,
        "managingOrganization": {"reference": "#org"},
    }
    # http://example.org/x is nobody's extension: allowed by prefix here (unknown extensions are errors)
    validator = Validator(default_validator().store, unknown_extensions=["http://example.org/"])
    core = validator.validate(patient, profile="http://hl7.org/fhir/StructureDefinition/Patient")
    assert not [i for i in core["issue"] if i["severity"] == "error"], core


def test_unknown_xml_content_is_kept_and_reported(converter: XmlConverter) -> None:
    xml = (
        '<Patient xmlns="http://hl7.org/fhir">'
        '<favouriteColour value="blue"/><gender value="purple"/></Patient>'
    )
    outcome = default_validator().validate(converter.parse(xml, "p.xml"))
    ids = {
        (",".join(i.get("expression", [])), message_id(i))
        for i in outcome["issue"]
        if i["severity"] == "error"
    }
    assert ("Patient.favouriteColour", "FF-UNKNOWN-ELEMENT") in ids
    assert ("Patient.gender", "FF-CODE-NOT-IN-VS") in ids


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ("<Patient xmlns='http://hl7.org/fhir'><active value='true'>", "not well-formed XML"),
        ("<Patient><active value='true'/></Patient>", "without a namespace"),
        ("<Patient xmlns='urn:other'/>", "in namespace 'urn:other'"),
        ("<Dragon xmlns='http://hl7.org/fhir'/>", "<Dragon> is not an R4 resource type"),
        (
            '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<Patient xmlns='http://hl7.org/fhir'><id value='&x;'/></Patient>",
            "references external entity",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x "lol">]>'
            "<Patient xmlns='http://hl7.org/fhir'><id value='x'/></Patient>",
            "DOCTYPE is not allowed",
        ),
        ("<Bundle xmlns='http://hl7.org/fhir'><entry><resource/></entry></Bundle>", "exactly one resource"),
    ],
    ids=[
        "truncated",
        "no-namespace",
        "other-namespace",
        "not-a-resource",
        "external-entity",
        "doctype",
        "empty-wrapper",
    ],
)
def test_unusable_xml_is_a_clear_input_error(xml: str, fragment: str, converter: XmlConverter) -> None:
    with pytest.raises(InputError, match=fragment.replace("[", r"\[")):
        converter.parse(xml, "x.xml")


def test_cli_validates_xml_files_folders_and_stdin(tmp_path: Path) -> None:
    bad = json.loads((EXAMPLES / "invalid" / "child-missing-birthdate.json").read_text())
    (tmp_path / "bad.xml").write_bytes(to_xml(bad))
    good = json.loads(VALID[0].read_text())
    (tmp_path / "good.xml").write_bytes(to_xml(good))
    runner = CliRunner()
    single = runner.invoke(main, ["validate", "--format", "json", str(tmp_path / "bad.xml")])
    assert single.exit_code == 1, single.output
    assert ("error", "Bundle.entry[3].resource.birthDate", "FF-CARDINALITY-MIN") in found(
        json.loads(single.stdout)
    )
    assert runner.invoke(main, ["validate", str(tmp_path / "good.xml")]).exit_code == 0
    folder = runner.invoke(main, ["validate", "--format", "json", str(tmp_path)])
    assert folder.exit_code == 1 and len(json.loads(folder.stdout)) == 2
    stdin = runner.invoke(main, ["validate", "-"], input=to_xml(good).decode())
    assert stdin.exit_code == 0, stdin.output
    (tmp_path / "broken.xml").write_text("<Patient xmlns='http://hl7.org/fhir'>")
    broken = runner.invoke(main, ["validate", str(tmp_path / "broken.xml")])
    assert broken.exit_code == 2 and "broken.xml: not well-formed XML" in broken.stderr


def test_a_guide_in_xml(tmp_path: Path) -> None:
    """A conformance resource in FHIR XML is a guide source like its JSON."""
    url = "https://vendor.example/fhir/StructureDefinition/active-patient"
    profile = {
        "resourceType": "StructureDefinition",
        "id": "active-patient",
        "url": url,
        "name": "ActivePatient",
        "status": "draft",
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "derivation": "constraint",
        "baseDefinition": f"{CANONICAL}/StructureDefinition/parent-patient",
        "differential": {"element": [{"id": "Patient.active", "path": "Patient.active", "min": 1}]},
    }
    guide = tmp_path / "guide"
    guide.mkdir()
    (guide / "StructureDefinition-active-patient.xml").write_bytes(
        StructureDefinition.model_validate(profile).model_dump_xml()
    )
    patient = tmp_path / "patient.json"
    patient.write_text(
        json.dumps({"resourceType": "Patient", "meta": {"profile": [url]}, "gender": "female"})
    )
    result = CliRunner().invoke(main, ["validate", "--format", "json", "--guide", str(guide), str(patient)])
    assert result.exit_code == 1, result.output
    assert ("error", "Patient.active", "FF-CARDINALITY-MIN") in found(json.loads(result.stdout))
