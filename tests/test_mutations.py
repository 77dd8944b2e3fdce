"""Mutation testing of the validator: every valid example, broken on purpose in generic ways, must give
exactly the one issue that names the fault (right code, right expression) and nothing else (one fault, one
issue).

Mutations: drop an element the profile requires, give a primitive the wrong JSON type, put an unknown code in
a required binding, make a reference dangle, break an NHS number's check digit, add an unknown element, add a
prohibited name/telecom/address, add a vendor's extension (a warning).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import default_validator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "bundles"
VALID = sorted(EXAMPLES.glob("*.json"))
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
GUIDE_CODE_SYSTEMS = "https://fhir-family.uk/fhir/CodeSystem/"
CHOICE = re.compile(r"^value([A-Z]\w*)$")

Token = str | int
Expected = tuple[str, str, str]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def expression(tokens: list[Token]) -> str:
    """The FHIRPath the validator must report for a JSON path (docs/model.md conventions)."""
    out = "Bundle"
    for token in tokens:
        if isinstance(token, int):
            out += f"[{token}]"
            continue
        match = CHOICE.match(token)
        if match:
            type_name = match.group(1)
            if (
                type_name[0].isupper()
                and type_name[1:2].islower()
                and type_name
                not in ("CodeableConcept", "Coding", "Period", "Identifier", "Reference", "Quantity")
            ):
                type_name = type_name[0].lower() + type_name[1:]  # a primitive type: valueDate -> date
            out += f".value.ofType({type_name})"
        else:
            out += f".{token}"
    return out


def walk(value: Any, tokens: list[Token]) -> Iterator[tuple[list[Token], Any]]:
    yield tokens, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, [*tokens, key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, [*tokens, index])


def get(root: Any, tokens: list[Token]) -> Any:
    for token in tokens:
        root = root[token]
    return root


def issue_set(bundle: dict[str, Any]) -> set[Expected]:
    outcome = default_validator().validate(bundle)
    return {
        (i["severity"], i["code"], i["expression"][0])
        for i in outcome["issue"]
        if i["severity"] != "information"
    }


# -- the mutations, each yielding (label, mutated bundle, expected issue) --


def _required_names(resource: dict[str, Any]) -> list[str]:
    """Top-level elements of a resource that its profile requires (read from the compiled profile)."""
    validator = default_validator()
    url = resource.get("meta", {}).get("profile", [None])[0]
    structure = validator.compiler.structure(url) if url else None
    assert structure is not None, f"example resource without a known profile: {url}"
    return [child.name for child in structure.children if child.min > 0 and child.name in resource]


def drop_required(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for name in _required_names(bundle):
        if name == "entry":
            continue  # dropping every entry is many faults at once (no Patient, no Organization ...)
        mutated = copy.deepcopy(bundle)
        del mutated[name]
        yield f"drop Bundle.{name}", mutated, ("error", "required", f"Bundle.{name}")
    for index, entry in enumerate(bundle["entry"]):
        for name in ("fullUrl", "request"):
            mutated = copy.deepcopy(bundle)
            del mutated["entry"][index][name]
            yield (
                f"drop entry[{index}].{name}",
                mutated,
                ("error", "required", f"Bundle.entry[{index}].{name}"),
            )
        for name in _required_names(entry["resource"]):
            mutated = copy.deepcopy(bundle)
            del mutated["entry"][index]["resource"][name]
            yield (
                f"drop entry[{index}].resource.{name}",
                mutated,
                ("error", "required", f"Bundle.entry[{index}].resource.{name}"),
            )


def wrong_json_type(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for tokens, value in walk(bundle, []):
        if not tokens or isinstance(tokens[-1], int) or tokens[-1] == "resourceType":
            continue
        if tokens[-1] in ("url", "system") and isinstance(value, str):
            # slicing discriminators: changing them moves the item to another slice (a different fault)
            continue
        if isinstance(value, bool):
            replacement: Any = "yes"
        elif isinstance(value, (str, int)):
            replacement = 12345 if isinstance(value, str) else str(value)
        else:
            continue
        mutated = copy.deepcopy(bundle)
        get(mutated, tokens[:-1])[tokens[-1]] = replacement
        yield f"wrong type at {expression(tokens)}", mutated, ("error", "value", expression(tokens))


def unknown_code(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for tokens, value in walk(bundle, []):
        if tokens and tokens[-1] == "coding" and isinstance(value, list):
            system = value[0].get("system", "")
            if not (system.startswith(GUIDE_CODE_SYSTEMS) or system.endswith("v3-RoleCode")):
                continue
            mutated = copy.deepcopy(bundle)
            get(mutated, tokens)[0]["code"] = "no-such-code"
            concept = tokens[:-1]
            # the team type's binding is extensible (an informative MHSDS copy): an unknown code is a warning
            severity = "warning" if system.endswith("/CodeSystem/mhsds-team-type") else "error"
            yield (
                f"unknown code at {expression(concept)}",
                mutated,
                (severity, "code-invalid", expression(concept)),
            )
    for index, entry in enumerate(bundle["entry"]):
        if "gender" in entry["resource"]:
            mutated = copy.deepcopy(bundle)
            mutated["entry"][index]["resource"]["gender"] = "F"
            yield (
                f"gender F at entry[{index}]",
                mutated,
                ("error", "code-invalid", f"Bundle.entry[{index}].resource.gender"),
            )


def dangling_reference(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for tokens, value in walk(bundle, []):
        if tokens and tokens[-1] == "reference" and isinstance(value, str):
            mutated = copy.deepcopy(bundle)
            get(mutated, tokens[:-1])["reference"] = "urn:uuid:00000000-0000-4000-8000-00000000dead"
            yield f"dangling {expression(tokens)}", mutated, ("error", "not-found", expression(tokens))


def bad_check_digit(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for tokens, value in walk(bundle, []):
        if isinstance(value, dict) and value.get("system") == NHS_SYSTEM and "value" in value:
            mutated = copy.deepcopy(bundle)
            number = value["value"]
            get(mutated, tokens)["value"] = number[:9] + str((int(number[9]) + 1) % 10)
            yield f"check digit at {expression(tokens)}", mutated, ("error", "invariant", expression(tokens))


def unknown_element(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    for tokens, value in walk(bundle, []):
        if isinstance(value, dict):
            mutated = copy.deepcopy(bundle)
            get(mutated, tokens)["fooBar"] = 1
            where = expression([*tokens, "fooBar"])
            yield f"unknown element {where}", mutated, ("error", "structure", where)


def prohibited_element(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    """Data minimisation: a name, telecom or address on the parent or a child (0..0 in the profiles)."""
    values = {
        "name": [{"family": "Smith"}],
        "telecom": [{"system": "phone", "value": "01632 960000"}],
        "address": [{"city": "Leeds"}],
    }
    for index, entry in enumerate(bundle["entry"]):
        if entry["resource"]["resourceType"] not in ("Patient", "RelatedPerson"):
            continue
        for name, value in values.items():
            mutated = copy.deepcopy(bundle)
            mutated["entry"][index]["resource"][name] = value
            where = f"Bundle.entry[{index}].resource.{name}"
            yield f"{name} on entry[{index}]", mutated, ("error", "structure", where)


def unknown_extension(bundle: dict[str, Any]) -> Iterator[tuple[str, dict, Expected]]:
    """A vendor's own extension on any resource: a warning, never an error."""
    for index, _entry in enumerate(bundle["entry"]):
        mutated = copy.deepcopy(bundle)
        extensions = mutated["entry"][index]["resource"].setdefault("extension", [])
        extensions.append({"url": "https://vendor.example/fhir/StructureDefinition/x", "valueString": "y"})
        where = f"Bundle.entry[{index}].resource.extension[{len(extensions) - 1}]"
        yield f"unknown extension at {where}", mutated, ("warning", "extension", where)


MUTATIONS = [
    drop_required,
    wrong_json_type,
    unknown_code,
    dangling_reference,
    bad_check_digit,
    unknown_element,
    prohibited_element,
    unknown_extension,
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_mutation_is_caught_with_the_right_code_and_expression(path: Path, mutation) -> None:
    bundle = load(path)
    baseline = {i for i in issue_set(bundle) if i[0] == "warning"}  # valid examples may carry warnings
    failures = []
    count = 0
    for label, mutated, expected in mutation(bundle):
        count += 1
        found = issue_set(mutated) - baseline
        if found != {expected}:
            failures.append(f"{label}: expected {expected}, found {sorted(found)}")
    assert count > 0, "the mutation found nothing to mutate"
    assert not failures, "\n".join(failures)
