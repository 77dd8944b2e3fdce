"""Full profile validation of a typical national return against fhir.resources merely parsing it.

Issue 3's target: validating a typical return (parent, 3 children, organisation, episode) against the
guide's profiles and R4 costs no more than ``fhir.resources`` R4B takes to ``model_validate_json`` +
``model_dump_json`` the same bundle; issue 12 lowers the targets (below). Every figure and its baseline are
timed in the same run, interleaved: each round calls every function once (A, B, C ... in a fresh shuffled
order, so none always runs first or last), and the figures are the medians over all rounds, so a busy
shared machine slows both alike. The validator is loaded before timing starts (it is process-wide in real
use). Rows, each with the issue 12 target for its ratio:

- validator: ``validate(bundle)`` on the parsed bundle (what the facade and collector call); <= 0.10;
- validator from text: ``json.loads`` + ``validate`` (the like-for-like comparison with a JSON-text parser);
  <= 0.10;
- the same validation with the generic walker (``Validator(..., specialised_walker=False)``: what the walker
  specialised per structure saves, in the same run; no target);
- mapping + validation: ``build_bundle(record)`` + ``validate`` (the pipeline after parsing; no target);
- map + validate, JSON payload: ``MappingPipeline.map_text`` on an EHR JSON payload (what the facade's
  ``POST /ehr/json`` does: JSON, schema, record, bundle, validation) against the baseline on the bundle it
  maps to; <= 0.25.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from run import Row

from fhir_family.guide import examples_dir
from fhir_family.guide.examples.valid import VALID_EXAMPLES
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.payload import JsonPayloadParser
from fhir_family.mapping.pipeline import MappingPipeline
from fhir_family.mapping.record import ReturnRecord
from fhir_family.outcome import has_errors

EXAMPLE_NAME = "mother-with-pr-three-children-living-with-her"
PAYLOAD_EXAMPLE = "json/mother-two-children.json"  # under examples/ehr
#: issue 12's targets for each row's ratio to its baseline (None: the issue names none)
TARGETS = {
    "validate": 0.10,
    "validate_text": 0.10,
    "validate_generic": None,
    "map_validate": None,
    "map_payload": 0.25,
}
WARM_UP = 30
MIN_ROUNDS = 50
MAX_ROUNDS = 1500
TIME_BUDGET_S = 12.0  # all rounds together; the whole bench stays well under 30 s
BASELINE = "fhir.resources R4B parse + serialise"


def typical_record() -> ReturnRecord:
    """The record behind the typical return: parent, 3 children, organisation, episode."""
    return VALID_EXAMPLES[EXAMPLE_NAME][1]


def typical_bundle_text() -> tuple[str, str]:
    """The committed example file's text (``make test`` proves it is a fresh build of the record + its id)."""
    path = examples_dir() / "bundles" / f"{EXAMPLE_NAME}.json"
    return path.read_text(encoding="utf-8"), str(path.relative_to(examples_dir().parent))


def payload_text() -> str:
    """An EHR JSON payload as the facade receives it (examples/ehr)."""
    return (examples_dir() / "ehr" / PAYLOAD_EXAMPLE).read_text(encoding="utf-8")


def _timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _interleaved_medians(functions: dict[str, Callable[[], Any]]) -> tuple[dict[str, float], int]:
    """Median seconds per call of each function, timed round by round within a bounded time budget."""
    for _ in range(WARM_UP):
        for function in functions.values():
            function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions.items())
    shuffler = random.Random(0)  # a fresh order each round, so no function always runs first or last
    deadline = time.perf_counter() + TIME_BUDGET_S
    rounds = 0
    while rounds < MAX_ROUNDS and (rounds < MIN_ROUNDS or time.perf_counter() < deadline):
        # The collector is off while timing, as in ``timeit``: a collection triggered by one function's
        # garbage would otherwise be billed to whichever function happens to run next.
        gc.collect()
        gc.disable()
        try:
            shuffler.shuffle(order)
            for name, function in order:
                samples[name].append(_timed(function))
        finally:
            gc.enable()
        rounds += 1
    return {name: statistics.median(values) for name, values in samples.items()}, rounds


def run() -> list[Row]:
    from fhir.resources.R4B.bundle import Bundle

    from fhir_family.conformance import Validator, default_validator

    validator = default_validator()
    generic = Validator(validator.store, specialised_walker=False)
    generic.warm_up()
    text, source = typical_bundle_text()
    bundle = json.loads(text)
    record = typical_record()

    outcome = validator.validate(bundle)
    if generic.validate(bundle) != outcome:
        print("bench_validator: WARNING the generic walker's outcome differs", file=sys.stderr)
    if has_errors(outcome):  # timing a failing bundle would measure an early exit, not full validation
        problems = [i.get("diagnostics") for i in outcome["issue"] if i.get("severity") in ("error", "fatal")]
        print(f"bench_validator: WARNING the typical bundle has errors: {problems[:3]}", file=sys.stderr)
    # The committed example is the record's build plus the id the examples builder gives every example.
    if build_bundle(record) != {key: value for key, value in bundle.items() if key != "id"}:
        print("bench_validator: WARNING the mapping row validates a different bundle", file=sys.stderr)
    pipeline, parser, payload = MappingPipeline(validator), JsonPayloadParser(), payload_text()
    mapped = pipeline.map_text(parser, payload)
    if not mapped.ok or mapped.bundle is None:  # an error would time an early exit
        raise RuntimeError(f"bench_validator: payload {PAYLOAD_EXAMPLE} does not map: {mapped.outcome}")
    payload_bundle_text = json.dumps(mapped.bundle)

    medians, rounds = _interleaved_medians(
        {
            "baseline": lambda: Bundle.model_validate_json(text).model_dump_json(),
            "validate": lambda: validator.validate(bundle),
            "validate_text": lambda: validator.validate(json.loads(text)),
            "validate_generic": lambda: generic.validate(bundle),
            "map_validate": lambda: validator.validate(build_bundle(record)),
            "baseline_payload": lambda: Bundle.model_validate_json(payload_bundle_text).model_dump_json(),
            "map_payload": lambda: pipeline.map_text(parser, payload),
        }
    )
    print(
        f"bench_validator: {rounds} interleaved rounds, medians; bundle {source} ({len(text)} bytes), "
        f"payload examples/ehr/{PAYLOAD_EXAMPLE}",
        file=sys.stderr,
    )
    rows = [
        ("validator: full profile validation", "validate", "baseline"),
        ("validator: json.loads + validation", "validate_text", "baseline"),
        ("validator: full validation, generic walker", "validate_generic", "baseline"),
        ("mapping + validation (build_bundle+validate)", "map_validate", "baseline"),
        ("map + validate, JSON payload (map_text)", "map_payload", "baseline_payload"),
    ]
    return [
        Row(
            name,
            medians[key] * 1000,
            "ms",
            BASELINE,
            medians[baseline] * 1000,
            lower_is_better=True,
            target=TARGETS[key],
        )
        for name, key, baseline in rows
    ]
