"""Invariants (ElementDefinition.constraint): the two hot core ones natively, the rest as compiled FHIRPath.

``ele-1`` sits on every element and ``ext-1`` on every extension; evaluating them through a FHIRPath engine
would dominate the validator's time, so they are implemented here in Python (tests prove they agree with
fhirpathpy). Every other invariant, the guide's ``ff-*`` and the core resource ones (``dom-*``, ``bdl-*``,
``per-1`` ...), is compiled once with fhirpathpy and the R4 model. fhirpathpy lacks a few functions;
``hasValue()`` is supplied below, and the invariants it cannot evaluate are listed in ``SKIPPED`` with the
reason. Core invariants fhirpathpy answers wrongly or cannot evaluate on realistic input (dates by
precision, Quantity ranges, dom-3, primitives given only as extensions) are in ``SPEC_NATIVE``; the ones that
remain unchecked on value-less primitives are listed in README.md (tests/test_invariant_coverage.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from .datetimes import less_or_equal
from .fhirpath_native import compile_native
from .guide_fast_paths import GUIDE_FAST_PATHS, NHS_EXPRESSION, nhs_check_digit
from .quantities import compare_quantities

BEST_PRACTICE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"

#: implemented natively (below), never through FHIRPath
NATIVE = {"ele-1", "ext-1"}

#: core invariants not evaluated, and why (each is checked by other means or cannot apply to R4 JSON here)
SKIPPED: dict[str, str] = {
    "dom-6": "best-practice guidance (narrative); the guide prohibits narrative for data minimisation",
    "txt-1": "needs htmlChecks(), which fhirpathpy lacks; the guide prohibits narrative (text 0..0)",
    "txt-2": "needs htmlChecks(), which fhirpathpy lacks; the guide prohibits narrative (text 0..0)",
    "bdl-7": "fullUrl+versionId uniqueness is checked natively by the bundle rules (FF-FULLURL-DUPLICATE)",
    "ctm-1": "needs resolve(), which fhirpathpy lacks (the bundle rules resolve references natively)",
}

#: FHIRPath functions fhirpathpy does not implement; an invariant using one is skipped (reason recorded)
_UNSUPPORTED_FUNCTIONS = ("htmlChecks(", "conformsTo(", "memberOf(", "resolve(")


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath ``hasValue()``: a single primitive with a value (an object is a complex element). fhirpathpy
    hands over model nodes; a primitive given only as extensions (``_value``) is a node holding that object,
    which has no value (age-1's ``value.hasValue().not() or value > 0`` then does not compare)."""
    if len(inputs) != 1:
        return [False]
    value = inputs[0].data if isinstance(inputs[0], ResourceNode) else inputs[0]
    return [value is not None and not isinstance(value, (dict, list))]


def _quiet_trace(*_args: Any, **_kwargs: Any) -> None:
    """``trace()`` in core invariants (ref-1, dom-3) must not print to stdout in a server."""


_OPTIONS = {
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
    "traceFn": _quiet_trace,
}
_COMPILE_LOCK = threading.Lock()
_COMPILED: dict[str, Any] = {}


def compile_expression(expression: str):
    """A compiled fhirpathpy function for ``expression`` (shared cache: many elements carry the same one)."""
    compiled = _COMPILED.get(expression)
    if compiled is None:
        with _COMPILE_LOCK:
            compiled = _COMPILED.get(expression)
            if compiled is None:
                compiled = fhirpath_compile(expression, models["r4"], _OPTIONS)
                _COMPILED[expression] = compiled
    return compiled


def _absent(name: str):
    return lambda data: True if isinstance(data, dict) and name not in data else None


def _bdl_request(flag_types: tuple[str, ...], element: str):
    def check(data: Any, resource: Any) -> bool | None:
        entries = data.get("entry", []) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return None
        expected = isinstance(resource, dict) and resource.get("type") in flag_types
        return all((element in entry) == expected for entry in entries)

    return check


def _type_not(*types: str):
    return lambda data: True if isinstance(data, dict) and data.get("type") not in types else None


def _ref1(data: Any) -> bool | None:
    reference = data.get("reference") if isinstance(data, dict) else None
    if reference is None or (isinstance(reference, str) and not reference.startswith("#")):
        return True
    return None


def _bdl8(data: Any) -> bool | None:
    full_url = data.get("fullUrl") if isinstance(data, dict) else None
    if full_url is None:
        return True
    return "/_history/" not in full_url if isinstance(full_url, str) else None


def _per1(data: Any) -> bool | None:
    """per-1 with FHIRPath's date/time comparison: a bound missing passes; bounds of different precision
    that agree as far as both go (``2020`` / ``2020-01-01``) compare as empty, which fails the invariant."""
    if not isinstance(data, dict):
        return None
    start, end = data.get("start"), data.get("end")
    if start is None or end is None:
        return True
    if isinstance(start, str) and isinstance(end, str):
        return less_or_equal(start, end) is True
    return None


def _org1(data: Any) -> bool | None:
    if not isinstance(data, dict):
        return None
    identifiers, name = data.get("identifier", []), data.get("name")
    if not isinstance(identifiers, list):
        return None
    return len(identifiers) + (1 if name is not None else 0) > 0


#: Exact native answers for hot core invariants, keyed by (key, expression) so a redefined key is never
#: mistaken for the core one. A function returns True/False, or None to defer to FHIRPath (the rare case,
#: e.g. a resource that has contained resources). tests/test_validator_invariants.py proves each agrees
#: with fhirpathpy.
FAST_PATHS: dict[tuple[str, str], Any] = {
    ("dom-2", "contained.contained.empty()"): _absent("contained"),
    ("dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"): _absent(
        "contained"
    ),
    ("dom-5", "contained.meta.security.empty()"): _absent("contained"),
    ("bdl-5", "resource.exists() or request.exists() or response.exists()"): lambda d: (
        any(k in d for k in ("resource", "request", "response")) if isinstance(d, dict) else None
    ),
    ("bdl-8", "fullUrl.contains('/_history/').not()"): _bdl8,
    (
        "ref-1",
        "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
        "%rootResource.contained.id.trace('ids'))",
    ): _ref1,
    ("org-1", "(identifier.count() + name.count()) > 0"): _org1,
    ("bdl-1", "total.empty() or (type = 'searchset') or (type = 'history')"): _absent("total"),
    ("bdl-2", "entry.search.empty() or (type = 'searchset')"): lambda d: (
        True
        if isinstance(d, dict)
        and isinstance(d.get("entry", []), list)
        and all(isinstance(e, dict) and "search" not in e for e in d.get("entry", []))
        else None
    ),
    (
        "bdl-9",
        "type = 'document' implies (identifier.system.exists() and identifier.value.exists())",
    ): _type_not("document"),
    ("bdl-10", "type = 'document' implies (timestamp.hasValue())"): _type_not("document"),
    ("bdl-11", "type = 'document' implies entry.first().resource.is(Composition)"): _type_not("document"),
    ("bdl-12", "type = 'message' implies entry.first().resource.is(MessageHeader)"): _type_not("message"),
}
def _present(data: dict[str, Any], name: str) -> bool:
    """FHIRPath ``name.exists()`` for a primitive: a value, or only extensions (``_name``)."""
    return name in data or f"_{name}" in data


def _dates_in_order(earlier: str, later: str):
    """``{later}.exists().not() or ... or {later} >= {earlier}`` on two date/time primitives: an absent one
    passes; one given only as extensions (no value; e.g. data-absent-reason) exists, but the comparison
    with it is empty, so the invariant is not satisfied (what FHIRPath says; fhirpathpy throws there);
    values compare by FHIRPath's date/time precision rules."""

    def check(data: Any) -> bool | None:
        if not isinstance(data, dict):
            return None
        if not _present(data, earlier) or not _present(data, later):
            return True
        first, second = data.get(earlier), data.get(later)
        if first is None or second is None:
            return False
        if isinstance(first, str) and isinstance(second, str):
            return less_or_equal(first, second) is True
        return None  # a wrong JSON type: reported by the walk

    return check


def _non_negative(name: str):
    """``{name}.exists() implies {name} >= 0`` on a decimal: absent passes, a value is compared, extensions
    without a value make the comparison empty (not satisfied)."""

    def check(data: Any) -> bool | None:
        if not isinstance(data, dict):
            return None
        if not _present(data, name):
            return True
        value = data.get(name)
        if value is None:
            return False
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value >= 0

    return check


def _rng2(data: Any) -> bool | None:
    """rng-2 (Range): low <= high, with UCUM conversion; units that cannot be compared give FHIRPath's empty,
    i.e. not satisfied (fhirpathpy throws on Quantity comparisons, which left every Range passing)."""
    if not isinstance(data, dict):
        return None
    low, high = data.get("low"), data.get("high")
    if low is None or high is None:
        return True
    if not isinstance(low, dict) or not isinstance(high, dict):
        return None
    if "value" not in low or "value" not in high:
        return True  # a bound without a value: nothing to compare
    result = compare_quantities(low, high)
    if result.order is None:
        return None if "not installed" in result.why else False
    return result.order <= 0


UCUM = "http://unitsofmeasure.org"


def _age1(data: Any) -> bool | None:
    """age-1 (Age): a value has a code, the system is UCUM, a value is positive. FHIRPath's ``or`` does not
    need its right side once the left is true, but fhirpathpy evaluates ``value > 0`` anyway and throws for
    a value given only as extensions (``value.hasValue().not()`` already holds there)."""
    if not isinstance(data, dict):
        return None
    value, system = data.get("value"), data.get("system")
    if (value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)))) or (
        system is not None and not isinstance(system, str)
    ):
        return None  # a wrong JSON type: reported by the walk
    coded = _present(data, "code") or not _present(data, "value")
    # a system given only as extensions: ``system = %ucum`` is empty, so the invariant is not satisfied
    ucum = not _present(data, "system") or system == UCUM
    positive = value is None or value > 0
    return coded and ucum and positive


#: core invariants whose FHIRPath fhirpathpy answers against the specification, so they are always evaluated
#: natively (also with ``native_fast_paths=False``); tests/test_validator_invariants.py states the cases
SPEC_NATIVE: dict[tuple[str, str], Any] = {
    # fhirpathpy pads the coarser date (2020 <= 2020-01-01 is true there; FHIRPath says empty, i.e. failed)
    ("per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)"): _per1,
    (
        "mdd-1",
        "whenHandedOver.empty() or whenPrepared.empty() or whenHandedOver >= whenPrepared",
    ): _dates_in_order("whenPrepared", "whenHandedOver"),
    ("rng-2", "low.empty() or high.empty() or (low <= high)"): _rng2,
    # Task: the same date/time comparison as mdd-1 (fhirpathpy pads, and throws on a value-less date)
    (
        "inv-1",
        "lastModified.exists().not() or authoredOn.exists().not() or lastModified >= authoredOn",
    ): _dates_in_order("authoredOn", "lastModified"),
    # Timing.repeat (every Dosage): fhirpathpy throws when duration/period carry only extensions
    ("tim-4", "duration.exists() implies duration >= 0"): _non_negative("duration"),
    ("tim-5", "period.exists() implies period >= 0"): _non_negative("period"),
    (
        "age-1",
        "(code.exists() or value.empty()) and (system.empty() or system = %ucum) and "
        "(value.empty() or value.hasValue().not() or value > 0)",
    ): _age1,
}
#: fast paths that also need the enclosing resource (%resource)
FAST_PATHS_WITH_RESOURCE: dict[tuple[str, str], Any] = {
    (
        "bdl-3",
        "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or "
        "%resource.type = 'history'))",
    ): _bdl_request(("batch", "transaction", "history"), "request"),
    (
        "bdl-4",
        "entry.all(response.exists() = (%resource.type = 'batch-response' or "
        "%resource.type = 'transaction-response' or %resource.type = 'history'))",
    ): _bdl_request(("batch-response", "transaction-response", "history"), "response"),
}
_DOM3 = (
    "dom-3",
    "contained.where((('#'+id in (%resource.descendants().reference | "
    "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
    "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
    "descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists())"
    ".not()).trace('unmatched', id).empty()",
)


def _strings(value: Any, into: set[str]) -> set[str]:
    """Every string value under ``value`` (any depth): the candidates for '#id' references and canonicals."""
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)
    return into


def _refers_to_container(value: Any) -> bool:
    """A reference (or canonical/uri) '#' somewhere below: the contained resource points at its container."""
    if isinstance(value, dict):
        return any(v == "#" or _refers_to_container(v) for v in value.values())
    if isinstance(value, list):
        return any(v == "#" or _refers_to_container(v) for v in value)
    return False


def _dom3(data: Any) -> bool | None:
    """dom-3: every contained resource is referenced from elsewhere in the resource ('#id') or refers to its
    container ('#'). fhirpathpy cannot run the core expression (its ``trace`` with a projection), which left
    contained resources unchecked; this is the expression's meaning, evaluated natively."""
    if not isinstance(data, dict):
        return None
    contained = data.get("contained")
    if contained is None:
        return True
    if not isinstance(contained, list):
        return None
    values = _strings(data, set())
    for resource in contained:
        if not isinstance(resource, dict):
            return None
        rid = resource.get("id")
        if isinstance(rid, str) and f"#{rid}" in values:
            continue
        if _refers_to_container(resource):
            continue
        return False
    return True


SPEC_NATIVE[_DOM3] = _dom3


def _explain_nhs(data: Any) -> str | None:
    """What is wrong with an NHS number, without repeating the number (it identifies a person)."""
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, str):
        return None
    if not (len(value) == 10 and value.isascii() and value.isdigit()):
        return f"an NHS number is exactly 10 digits, found {len(value)} character(s)" + (
            "" if value.isdigit() else " including non-digits (no spaces or dashes)"
        )
    expected = nhs_check_digit(value[:9])
    if expected is None:
        return "no NHS number starts with these nine digits (their modulus-11 check digit would be 10)"
    return f"the check digit (10th digit) must be {expected} for the first nine digits given, not {value[9]}"


def _explain_per1(data: Any) -> str | None:
    start, end = (data.get("start"), data.get("end")) if isinstance(data, dict) else (None, None)
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    if less_or_equal(start, end) is None:
        return (
            f"start {start!r} and end {end!r} are given to different precisions and agree as far as both go, "
            "so which comes first is unknown: give both to the same precision"
        )
    return f"start {start!r} is after end {end!r}"


#: invariants whose failure can be explained in terms of the value (keyed like the fast paths)
EXPLAINERS: dict[tuple[str, str], Any] = {
    ("per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)"): _explain_per1,
    ("ff-nhs-1", NHS_EXPRESSION): _explain_nhs,
}


GUIDE_KEYS = "ff-"
"""The guide's own invariant keys: those without a twin are compiled natively (``fhirpath_native``)."""


@dataclass(eq=False, slots=True)
class Invariant:
    """One constraint: key, severity, human text, FHIRPath and the compiled function (None when skipped)."""

    key: str
    severity: str
    human: str
    expression: str
    source: str | None = None
    skip_reason: str | None = None
    _compiled: Any = field(default=None, repr=False)
    _fast: Any = field(default=None, repr=False)
    _fast_with_resource: Any = field(default=None, repr=False)

    @classmethod
    def from_constraint(cls, constraint: dict[str, Any], fast_paths: bool = True) -> Invariant:
        """The compiled form of one ElementDefinition.constraint; ``fast_paths`` allows native twins."""
        key = constraint.get("key", "?")
        expression = constraint.get("expression") or ""
        invariant = cls(
            key=key,
            severity=constraint.get("severity", "error"),
            human=constraint.get("human", ""),
            expression=expression,
            source=constraint.get("source"),
        )
        spec_native = SPEC_NATIVE.get((key, expression))
        if spec_native is not None:
            invariant._fast = spec_native
        elif fast_paths:
            invariant._fast = FAST_PATHS.get((key, expression)) or GUIDE_FAST_PATHS.get((key, expression))
            invariant._fast_with_resource = FAST_PATHS_WITH_RESOURCE.get((key, expression))
            twin = invariant._fast or invariant._fast_with_resource
            if twin is None and key.startswith(GUIDE_KEYS):
                # no hand-written twin: the guide's own rule compiled to Python once, here (None: not
                # in the native subset, fhirpathpy evaluates it as before)
                invariant._fast = compile_native(expression)
        if key in SKIPPED:
            invariant.skip_reason = SKIPPED[key]
        elif any(
            ext.get("url") == BEST_PRACTICE_EXTENSION and ext.get("valueBoolean")
            for ext in constraint.get("extension", [])
        ):
            invariant.skip_reason = "best-practice guidance, not a conformance rule"
        elif not expression:
            invariant.skip_reason = "no FHIRPath expression"
        else:
            unsupported = [name[:-1] for name in _UNSUPPORTED_FUNCTIONS if name in expression]
            if unsupported:
                invariant.skip_reason = f"uses {', '.join(unsupported)}(), which fhirpathpy lacks"
        return invariant

    def message(self, data: Any) -> str:
        """The failure in words: ``key: human`` (the rule as its author stated it), plus what is wrong in
        this value where an explainer knows (the NHS number's expected check digit)."""
        text = f"{self.key}: {self.human.rstrip('.')}" if self.human else f"{self.key} failed"
        explain = EXPLAINERS.get((self.key, self.expression))
        detail = explain(data) if explain is not None else None
        return f"{text}; {detail}" if detail else text

    def evaluate(self, data: Any, type_path: str | None, resource: Any, root: Any) -> bool | None:
        """True/False for pass/fail; None when the expression cannot be evaluated (treated as not failing)."""
        if self._fast is not None:
            answer = self._fast(data)
            if answer is not None:
                return answer
        elif self._fast_with_resource is not None:
            answer = self._fast_with_resource(data, resource)
            if answer is not None:
                return answer
        return self.evaluate_fhirpath(data, type_path, resource, root)

    def evaluate_fhirpath(self, data: Any, type_path: str | None, resource: Any, root: Any) -> bool | None:
        """The invariant through fhirpathpy only (also what the fast paths are tested against)."""
        result = self.fhirpath_result(data, type_path, resource, root)
        if result is None:
            return None
        # FHIRPath invariants hold only when the result is true: an empty result (e.g. dates of different
        # precision compared) is not satisfied, as the HL7 reference validator reads it
        return bool(result) and all(value is True for value in result)

    def fhirpath_result(self, data: Any, type_path: str | None, resource: Any, root: Any) -> list[Any] | None:
        """fhirpathpy's raw result (a collection), or None when it cannot evaluate the expression here."""
        if self._compiled is None:
            try:
                self._compiled = compile_expression(self.expression)
            except Exception as exc:  # fhirpathpy raises bare exceptions for syntax it does not support
                self.skip_reason = f"fhirpathpy cannot compile it ({exc})"
                return None
        node = ResourceNode.create_node(data, type_path) if type_path else data
        try:
            return list(self._compiled(node, {"resource": resource, "rootResource": root}))
        except Exception:  # an engine gap on this input: do not turn it into a conformance failure
            return None


def ele1_holds(value: Any, extension_value: Any = None) -> bool:
    """``ele-1``: ``hasValue() or (children().count() > id.count())``: an element holds a value or a child.

    For a primitive the JSON value itself (or its ``_name`` extensions); for a complex element any property
    besides ``id``. Empty strings/arrays are JSON-level errors reported elsewhere; here ``{}`` fails.
    """
    if isinstance(value, dict):
        return any(key != "id" for key in value)
    if value is not None:
        return True
    return isinstance(extension_value, dict) and any(key != "id" for key in extension_value)


def ext1_holds(extension: dict[str, Any]) -> bool:
    """``ext-1``: ``extension.exists() != value.exists()``: sub-extensions or a value, not both/neither."""
    has_extensions = bool(extension.get("extension"))
    has_value = False
    for key in extension:
        if "value" in key:  # cheap first test: ``url`` and ``extension`` are most of the keys
            bare = key.lstrip("_")
            if bare.startswith("value") and bare[5:6].isupper():
                has_value = True
                break
    return has_extensions != has_value
