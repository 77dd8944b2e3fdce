"""The walker: one pass over a resource's JSON against compiled structures, collecting issues.

It reports each fault once, where it is, and does not report its consequences: a value of the wrong JSON type
is not also checked for format or binding; an element whose content already has errors does not have its
invariants evaluated; a missing slice is reported instead of the (implied) missing sliced element.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import messages as msg
from ..outcome import Issue, IssueSeverity, IssueType
from .compiler import Compiler
from .datatype_rules import check_attachment, check_coding, check_narrative_links, string_too_long
from .extension_policy import ExtensionPolicy
from .invariants import Invariant, ele1_holds, ext1_holds
from .primitives import describe
from .quantities import QUANTITY_TYPES, compare_quantities
from .rules import MISSING, ElementRule, Structure, TypeRule

ERROR, WARNING = IssueSeverity.ERROR, IssueSeverity.WARNING
RESOURCE_CONTEXTS = {"Resource", "DomainResource"}
_CONTAINED = re.compile(r"\.contained\[\d+\]$")


@dataclass(slots=True)
class Reference:
    """A Reference met while walking, resolved against the Bundle afterwards."""

    value: str
    expression: str
    target_types: tuple[str, ...]
    resource: dict[str, Any]
    #: the resource's %rootResource: the Bundle entry's resource also for a reference in a contained one
    root: dict[str, Any]
    #: targetProfiles that constrain a type: a target in the Bundle must conform to one of them
    profiles: tuple[str, ...] = ()


@dataclass(slots=True)
class Context:
    """State of one validate() call (never shared between calls)."""

    root: Any
    issues: list[Issue] = field(default_factory=list)
    errors: int = 0
    references: list[Reference] = field(default_factory=list)
    resource: Any = None
    #: (definition path, type) of the primitive whose ``_name`` extensions are being walked
    primitive_owner: tuple[str, str] | None = None
    #: the FHIRPath of the resource being walked (``Bundle.entry[1].resource``)
    resource_expr: str = ""
    #: FHIRPath ``%rootResource``: the resource being walked, or its container when it is contained (a
    #: Bundle entry or a Parameters resource is its own root, not the Bundle/Parameters around it)
    root_resource: Any = None
    #: the profile the current resource is validated against (the unknown-extension policy reads it)
    profile_url: str | None = None
    #: id(resource) -> the profiles it has been walked against in this call (targetProfile checks read it)
    profiles_applied: dict[int, set[str | None]] = field(default_factory=dict)

    def scratch(self) -> Context:
        """A copy for a trial walk (does this item conform to a slice's profile?) whose issues are kept
        apart from the real ones."""
        trial = copy.copy(self)
        trial.issues, trial.errors, trial.references, trial.profiles_applied = [], 0, [], {}
        return trial

    def add(
        self,
        severity: IssueSeverity,
        code: IssueType,
        message_id: str,
        diagnostics: str,
        expression: str | None,
        rule: str | None = None,
    ) -> None:
        """Record one issue; ``rule`` is the FHIRPath of a failed invariant (kept out of the sentence)."""
        if severity in (IssueSeverity.ERROR, IssueSeverity.FATAL):
            self.errors += 1
        self.issues.append(
            Issue(
                severity=severity,
                code=code,
                diagnostics=diagnostics,
                expression=expression,
                message_id=message_id,
                rule=rule,
            )
        )


#: (resource, expression, context, profiles the containing element's type names)
ResourceDispatch = Callable[[Any, str, Context, tuple[str, ...]], None]
#: (resource, expression, context): a check of one resource type's meaning
ResourceRule = Callable[[dict[str, Any], str, Context], None]


def values_at(value: Any, path: str) -> list[Any]:
    """Every value at a dotted path inside JSON, arrays flattened (``code.coding.code``: every code)."""
    values = value if isinstance(value, list) else [value]
    if path == "$this":
        return values
    for part in path.split("."):
        found = []
        for item in values:
            child = item.get(part, MISSING) if isinstance(item, dict) else MISSING
            if isinstance(child, list):
                found.extend(child)
            elif child is not MISSING:
                found.append(child)
        values = found
    return values


def matches_pattern(value: Any, pattern: Any) -> bool:
    """FHIR pattern semantics: every property of the pattern is present with a matching value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches_pattern(value[key], expected) for key, expected in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(
            any(matches_pattern(item, expected) for item in value) for expected in pattern
        )
    return value == pattern and type(value) is type(pattern)


class Walker:
    """Validates JSON values against compiled structures; resources found inside go back to ``dispatch``."""

    def __init__(
        self,
        compiler: Compiler,
        terminology: Any,
        dispatch: ResourceDispatch,
        extension_policy: ExtensionPolicy | None = None,
        resource_rules: dict[str, ResourceRule] | None = None,
    ) -> None:
        """``resource_rules``: per resource type, checks beyond the structure (a StructureDefinition
        against its base), run once per resource after its walk."""
        self.resource_rules = resource_rules or {}
        self.compiler = compiler
        self.terminology = terminology
        self.dispatch = dispatch
        self.extension_policy = extension_policy or ExtensionPolicy()
        self._plain_rules: dict[int, ElementRule] = {}
        self._value_set_urls: dict[str, bool] = {}
        self._plain_rules_keep: list[ElementRule] = []
        #: type code -> whether an element of that type holds a resource (Resource, Patient ...)
        self._resource_codes: dict[str, bool] = {}

    # -- objects -----------------------------------------------------------------------------------

    def validate_resource(
        self,
        resource: dict[str, Any],
        structure: Structure,
        expr: str,
        ctx: Context,
        before_invariants: Callable[[], None] | None = None,
    ) -> None:
        """Validate one resource (already known to have a valid resourceType) against a structure.

        ``before_invariants`` runs between the walk and the resource-level invariants: the Bundle rules go
        there, so an invariant that fails only because of a fault they report is not reported again.
        """
        outer, outer_expr, outer_root = ctx.resource, ctx.resource_expr, ctx.root_resource
        outer_profile = ctx.profile_url
        ctx.resource, ctx.resource_expr, ctx.profile_url = resource, expr, structure.profile_url
        applied = ctx.profiles_applied.setdefault(id(resource), set())
        first_walk = not applied
        applied.add(structure.profile_url)
        if outer_root is None or not _CONTAINED.search(expr):
            ctx.root_resource = resource
        before = ctx.errors
        self.validate_object(resource, structure, expr, ctx, resource_root=True)
        resource_rule = self.resource_rules.get(resource.get("resourceType")) if first_walk else None
        if resource_rule is not None:
            resource_rule(resource, expr, ctx)
        if before_invariants is not None:
            before_invariants()
        self.check_invariants(resource, structure.invariants, None, expr, ctx, before, suppress_roots=True)
        ctx.resource, ctx.resource_expr, ctx.root_resource = outer, outer_expr, outer_root
        ctx.profile_url = outer_profile

    def validate_object(
        self, obj: dict[str, Any], structure: Structure, expr: str, ctx: Context, resource_root: bool = False
    ) -> None:
        lookup = structure.lookup
        # position of the element in structure.children -> its JSON entries (an empty list: the element was
        # given under a disallowed choice name, already reported, so it is not also missing)
        present: dict[int, list[tuple[str, TypeRule, Any]]] = {}
        extensions: dict[str, Any] | None = None
        for key, value in obj.items():
            hit = lookup.get(key)
            if hit is not None:
                entries = present.get(hit[2])
                if entries is None:
                    present[hit[2]] = [(key, hit[1], value)]
                else:
                    entries.append((key, hit[1], value))
                continue
            if key == "resourceType" and resource_root:
                continue
            if key.startswith("_") and len(key) > 1:
                hit = lookup.get(key[1:])
                if hit is None or hit[1].primitive is None:
                    ctx.add(
                        ERROR,
                        IssueType.STRUCTURE,
                        msg.UNKNOWN_ELEMENT,
                        f"{structure.type_name} has no primitive element '{key[1:]}' for '{key}' to extend",
                        f"{expr}.{key}",
                    )
                else:
                    if extensions is None:
                        extensions = {}
                    extensions[key[1:]] = value
                continue
            choice = _choice_for(structure, key)
            if choice is not None:
                allowed = ", ".join(t.code for t in choice.types)
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.TYPE,
                    f"{choice.label} allows only {allowed} (profile {choice.profile_name}), found '{key}'",
                    f"{expr}.{choice.name}.ofType({key[len(choice.name) :][:1].lower()}"
                    f"{key[len(choice.name) + 1 :]})",
                )
                present.setdefault(structure.children.index(choice), [])
                continue
            ctx.add(
                ERROR,
                IssueType.STRUCTURE,
                msg.UNKNOWN_ELEMENT,
                f"'{key}' is not an element of {structure.type_name}"
                + (
                    f" (profile {structure.profile_name})"
                    if structure.profile_name and structure.profile_name != structure.type_name
                    else ""
                ),
                f"{expr}.{key}",
            )
        # visit, in the definition's order, the elements present and the required ones (not the many
        # optional elements left out: that loop was the walker's largest cost)
        if extensions is not None:
            positions = sorted({*present, *structure.required, *(lookup[name][2] for name in extensions)})
        elif structure.required:
            positions = sorted({*present, *structure.required})
        else:
            positions = sorted(present)
        children = structure.children
        for position in positions:
            rule = children[position]
            entries = present.get(position)
            ext_entries = (
                [(name, extensions[name]) for name in rule.json_names if name in extensions]
                if extensions is not None
                else ()
            )
            if not entries and not ext_entries:
                if entries is None and rule.min > 0:
                    # name the required slices (Patient.extension:parentalStatus), not just the element
                    required = [s for s in rule.slices if s.min > 0]
                    for slice_rule in required or [None]:
                        self._missing(rule, expr, ctx, slice_rule)
                continue
            self._validate_group(rule, entries or [], ext_entries, expr, ctx)

    # -- element groups ----------------------------------------------------------------------------

    def _element_expr(self, rule: ElementRule, expr: str, type_rule: TypeRule | None = None) -> str:
        if rule.choice:
            if type_rule is None and len(rule.types) == 1:
                type_rule = rule.types[0]
            if type_rule is not None:
                return f"{expr}.{rule.name}.ofType({type_rule.code})"
        return f"{expr}.{rule.name}"

    def _missing(
        self, rule: ElementRule, expr: str, ctx: Context, slice_rule: ElementRule | None = None
    ) -> None:
        target = slice_rule or rule
        ctx.add(
            ERROR,
            IssueType.REQUIRED,
            msg.CARDINALITY_MIN,
            f"{target.label} is required by profile {target.profile_name} (min {target.min}) but is missing",
            self._element_expr(rule, expr),
        )

    def _validate_group(
        self,
        rule: ElementRule,
        entries: list[tuple[str, TypeRule, Any]],
        ext_entries: Sequence[tuple[str, Any]],
        expr: str,
        ctx: Context,
    ) -> None:
        if (
            rule.choice
            and len(entries) + len(ext_entries) > 1
            and len({name for name, _t, _v in entries} | {n for n, _e in ext_entries}) > 1
        ):
            names = sorted({name for name, _t, _v in entries} | {n for n, _e in ext_entries})
            ctx.add(
                ERROR,
                IssueType.STRUCTURE,
                msg.CHOICE_MULTIPLE,
                f"{rule.label} is a choice of one type, but {len(names)} were given ({', '.join(names)})",
                f"{expr}.{rule.name}",
            )
            return
        if entries:
            json_name, type_rule, value = entries[0]
            if value is None:
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.TYPE,
                    f"'{json_name}' is null; FHIR JSON leaves out elements that have no value",
                    self._element_expr(rule, expr, type_rule),
                )
                return
        else:
            json_name, type_rule, value = ext_entries[0][0], rule.json_names[ext_entries[0][0]], None
        ext_value = ext_entries[0][1] if ext_entries else None
        base_expr = self._element_expr(rule, expr, type_rule) if rule.choice else f"{expr}.{rule.name}"
        items = self._items(rule, json_name, value, ext_value, base_expr, ctx)
        if items is None:
            return
        count = len(items)
        if rule.max is not None and count > rule.max:
            if rule.max == 0:
                why = f"{rule.label} is not allowed by profile {rule.profile_name} (max 0) but is present"
            else:
                why = (
                    f"{rule.label} is allowed at most {rule.max} time(s) by profile {rule.profile_name} "
                    f"(max {rule.max_text()}) but {count} were given"
                )
            ctx.add(ERROR, IssueType.STRUCTURE, msg.CARDINALITY_MAX, why, base_expr)
            if rule.max == 0:
                return
        if rule.slices:
            self._validate_sliced(rule, type_rule, items, base_expr, expr, ctx)
            return
        if count < rule.min:
            self._missing(rule, expr, ctx)
        # a primitive of the element's own type goes straight to its check (what validate_item would do)
        validate = (
            self._validate_primitive
            if type_rule.primitive is not None and not type_rule.unconstrained
            else self.validate_item
        )
        if not rule.repeats:
            validate(items[0][0], items[0][1], rule, type_rule, base_expr, ctx)
            return
        for index, (item, item_ext) in enumerate(items):
            validate(item, item_ext, rule, type_rule, f"{base_expr}[{index}]", ctx)

    def _items(
        self, rule: ElementRule, json_name: str, value: Any, ext_value: Any, expr: str, ctx: Context
    ) -> list[tuple[Any, Any]] | None:
        """The values paired with their ``_name`` extensions, or None after reporting a shape error."""
        if ext_value is None and value is not None:  # the usual shapes first
            if not rule.repeats:
                if type(value) is not list:
                    return [(value, None)]
            elif type(value) is list and value:
                return [(item, None) for item in value]
        if rule.repeats:
            if value is not None and not isinstance(value, list):
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.TYPE,
                    f"{rule.label} repeats, so '{json_name}' must be a JSON array, found {describe(value)}",
                    expr,
                )
                return None
            values = value if value is not None else []
            exts = ext_value if isinstance(ext_value, list) else []
            if ext_value is not None and not isinstance(ext_value, list):
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.TYPE,
                    f"'_{json_name}' must be a JSON array aligned with '{json_name}', "
                    f"found {describe(ext_value)}",
                    expr,
                )
                return None
            if value is not None and not values:
                ctx.add(
                    ERROR,
                    IssueType.STRUCTURE,
                    msg.EMPTY,
                    f"'{json_name}' is an empty array; FHIR JSON leaves out elements that have no values",
                    expr,
                )
                return None
            length = max(len(values), len(exts))
            return [
                (values[i] if i < len(values) else None, exts[i] if i < len(exts) else None)
                for i in range(length)
            ]
        if isinstance(value, list):
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.TYPE,
                f"{rule.label} does not repeat (max 1), so '{json_name}' must not be a JSON array",
                expr,
            )
            return None
        if value is None and ext_value is None:
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.TYPE,
                f"'{json_name}' is null; FHIR JSON leaves out elements that have no value",
                expr,
            )
            return None
        return [(value, ext_value)]

    def _validate_sliced(
        self,
        rule: ElementRule,
        type_rule: TypeRule,
        items: list[tuple[Any, Any]],
        base_expr: str,
        expr: str,
        ctx: Context,
    ) -> None:
        counts = [0] * len(rule.slices)
        assigned: list[ElementRule | None] = []
        table = rule.slice_table
        for item, _ext in items:
            chosen = None
            if table is not None:
                # the compiled table answers for an item whose discriminator value is absent or one string
                actual = item.get(table[0], MISSING) if isinstance(item, dict) else MISSING
                if actual is MISSING or isinstance(actual, str):
                    position = table[1].get(actual) if actual is not MISSING else None
                    if position is not None:
                        chosen = rule.slices[position]
                        counts[position] += 1
                    assigned.append(chosen)
                    continue
            for position, slice_rule in enumerate(rule.slices):
                if self._in_slice(item, type_rule, rule, slice_rule, ctx):
                    chosen = slice_rule
                    counts[position] += 1
                    break
            assigned.append(chosen)
        slice_missing = False
        for position, slice_rule in enumerate(rule.slices):
            if counts[position] < slice_rule.min:
                slice_missing = True
                self._missing(rule, expr, ctx, slice_rule)
            elif slice_rule.max is not None and counts[position] > slice_rule.max:
                ctx.add(
                    ERROR,
                    IssueType.STRUCTURE,
                    msg.CARDINALITY_MAX,
                    f"{slice_rule.label} is allowed at most {slice_rule.max} time(s) by profile "
                    f"{slice_rule.profile_name} (max {slice_rule.max_text()}) "
                    f"but {counts[position]} were given",
                    base_expr,
                )
        if len(items) < rule.min and not slice_missing:
            self._missing(rule, expr, ctx)
        for index, ((item, item_ext), slice_rule) in enumerate(zip(items, assigned, strict=True)):
            item_expr = f"{base_expr}[{index}]" if rule.repeats else base_expr
            if slice_rule is None:
                if rule.slicing_rules == "closed":
                    ctx.add(
                        ERROR,
                        IssueType.STRUCTURE,
                        msg.SLICE_CLOSED,
                        f"{rule.label} only allows the slices defined by profile {rule.profile_name}; "
                        "this item matches none of them",
                        item_expr,
                    )
                    continue
                self.validate_item(item, item_ext, rule, type_rule, item_expr, ctx)
            else:
                slice_type = slice_rule.types[0] if slice_rule.types else type_rule
                self.validate_item(item, item_ext, slice_rule, slice_type, item_expr, ctx)

    def _in_slice(
        self, item: Any, type_rule: TypeRule, rule: ElementRule, slice_rule: ElementRule, ctx: Context
    ) -> bool:
        if not rule.discriminators:
            return False
        values = slice_rule.discriminator_values
        if not values:
            return False  # a slice that constrains none of the discriminators cannot be told apart
        for discriminator, expected in zip(rule.discriminators, values, strict=True):
            if expected is MISSING:
                continue  # this slice leaves the discriminator open: any value (profiling.html#discriminator)
            if discriminator.kind == "profile":
                targets = [item] if discriminator.path == "$this" else values_at(item, discriminator.path)
                if not any(self.conforms(t, url, ctx) for t in targets for url in expected):
                    return False
                continue
            if discriminator.kind == "type":
                if discriminator.path == "$this":
                    actual_types = [type_rule.code]
                else:
                    actual_types = [
                        v.get("resourceType")
                        for v in values_at(item, discriminator.path)
                        if isinstance(v, dict)
                    ]
                if not any(t in expected for t in actual_types):
                    return False
                continue
            if not isinstance(item, dict):
                return False
            actual = values_at(item, discriminator.path)
            if discriminator.kind == "exists":
                if bool(actual) != expected:
                    return False
                continue
            if discriminator.kind == "pattern":
                if not any(matches_pattern(value, expected) for value in actual):
                    return False
            elif expected not in actual:
                return False
        return True

    def _unconstrained(self, rule: ElementRule) -> ElementRule:
        """``rule`` without the constraints an open type slicing put on another of its types."""
        plain = self._plain_rules.get(id(rule))
        if plain is None:
            plain = dataclasses.replace(
                rule,
                fixed=MISSING,
                pattern=MISSING,
                binding_strength=None,
                binding_value_set=None,
                invariants=[],
                min_value=MISSING,
                max_value=MISSING,
                max_length=None,
                structures={},
            )
            self._plain_rules[id(rule)] = plain
            self._plain_rules_keep.append(rule)  # keeps id(rule) from being reused while cached
        return plain

    def conforms(self, value: Any, url: str, ctx: Context) -> bool:
        """Whether ``value`` (a resource or a data type) meets profile ``url`` without errors: a trial walk
        in a scratch context, for ``profile`` discriminators. An unknown profile matches nothing."""
        structure = self.compiler.structure(url)
        if structure is None or not isinstance(value, dict):
            return False
        trial = ctx.scratch()
        if "resourceType" in value:
            resource_type = value.get("resourceType")
            if resource_type != structure.type_name and structure.type_name not in RESOURCE_CONTEXTS:
                return False
            self.validate_resource(value, structure, trial.resource_expr or "", trial)
        else:
            self.validate_object(value, structure, "", trial)
            self.check_invariants(value, structure.invariants, structure.type_name, "", trial, 0)
        return trial.errors == 0

    # -- single values -----------------------------------------------------------------------------

    def validate_item(
        self, value: Any, ext_value: Any, rule: ElementRule, type_rule: TypeRule, expr: str, ctx: Context
    ) -> None:
        if type_rule.unconstrained:
            rule = self._unconstrained(rule)
        primitive = type_rule.primitive
        if primitive is not None:
            self._validate_primitive(value, ext_value, rule, type_rule, expr, ctx)
            return
        code = type_rule.code
        if not isinstance(value, dict):
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.TYPE,
                f"{rule.label} must be a JSON object ({code}), found {describe(value)}",
                expr,
            )
            return
        resource = self._resource_codes.get(code)
        if resource is None:
            resource = code in RESOURCE_CONTEXTS or self.compiler.is_resource_type(code)
            self._resource_codes[code] = resource
        if resource:
            self.dispatch(value, expr, ctx, type_rule.profiles)
            return
        if rule.check_ele1 and (not value or (len(value) == 1 and "id" in value)):  # ele1_holds, inline
            ctx.add(
                ERROR,
                IssueType.INVARIANT,
                msg.INVARIANT,
                f"ele-1: All FHIR elements must have a @value or children; {rule.label} is empty",
                expr,
            )
            return
        structure: Structure | None
        if code == "Extension" and not type_rule.profiles and not rule.children and rule.slice_name is None:
            structure = self._extension_structure(value, rule, expr, ctx)
            if structure is None:
                return
        else:
            if code == "Extension" and type_rule.profiles and not self.compiler.any_profile_known(type_rule):
                ctx.add(
                    WARNING,
                    IssueType.EXTENSION,
                    msg.EXT_UNKNOWN,
                    f"{rule.label} names extension {type_rule.profiles[0]}, whose definition is not loaded, "
                    "so its content was not checked against it",
                    expr,
                )
            structure = rule.structures.get(code) or self.compiler.content_structure(rule, type_rule)
            if structure is None:
                return
        before = ctx.errors
        self.validate_object(value, structure, expr, ctx)
        if ctx.errors != before:
            return
        self._validate_content(value, rule, type_rule, structure, expr, ctx)

    def _validate_content(
        self,
        value: dict[str, Any],
        rule: ElementRule,
        type_rule: TypeRule,
        structure: Structure,
        expr: str,
        ctx: Context,
    ) -> None:
        """What is checked on a complex value once its content walked without errors: fixed/pattern, the
        data-type rules, quantity limits, binding, the reference (kept for the Bundle rules), ext-1 and the
        invariants of the element and of its type."""
        code = type_rule.code
        if (rule.fixed is not MISSING or rule.pattern is not MISSING) and not self._fixed_pattern(
            value, rule, expr, ctx
        ):
            return
        if code == "Coding" and not check_coding(value, expr, ctx.add, self._is_value_set):
            return
        if code == "Attachment" and not check_attachment(value, expr, ctx.add):
            return
        if code in QUANTITY_TYPES and not self._quantity_within_limits(value, rule, expr, ctx):
            return
        bound = rule.binding_strength in ("required", "extensible") and (
            code in ("Coding", "CodeableConcept") or code in QUANTITY_TYPES
        )
        if bound and not self._check_binding(value, rule, code, expr, ctx):
            return
        if code == "Reference" and isinstance(value.get("reference"), str):
            constraints, unknown = self.compiler.target_constraints(type_rule.target_profiles)
            for url in unknown:
                ctx.add(
                    WARNING,
                    IssueType.NOT_FOUND,
                    msg.PROFILE_UNKNOWN,
                    f"{rule.label} may point at profile {url} (targetProfile), which is not loaded, so the "
                    "target cannot be checked against it",
                    f"{expr}.reference",
                )
            if unknown:
                constraints = ()  # the target may conform to the one not loaded: no verdict on the others
            ctx.references.append(
                Reference(
                    value["reference"],
                    f"{expr}.reference",
                    self.compiler.target_types(type_rule.target_profiles),
                    ctx.resource,
                    ctx.root_resource,
                    constraints,
                )
            )
        if code == "Extension" and (rule.check_ext1 or structure.check_ext1) and not ext1_holds(value):
            ctx.add(
                ERROR,
                IssueType.INVARIANT,
                msg.INVARIANT,
                "ext-1: Must have either extensions or value[x], not both; "
                f"{rule.label} has {'both' if value.get('extension') else 'neither'}",
                expr,
            )
            return
        invariants = rule.invariants
        if structure.invariants and structure.invariants is not rule.invariants:
            keys = {inv.key for inv in invariants}
            invariants = invariants + [inv for inv in structure.invariants if inv.key not in keys]
        if invariants:
            type_path = code if code not in ("BackboneElement", "Element") else rule.path
            self.check_invariants(value, invariants, type_path, expr, ctx, ctx.errors)

    def _validate_primitive(
        self, value: Any, ext_value: Any, rule: ElementRule, type_rule: TypeRule, expr: str, ctx: Context
    ) -> None:
        primitive = type_rule.primitive
        assert primitive is not None
        if ext_value is not None:
            if not isinstance(ext_value, dict):
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.TYPE,
                    f"the extensions of {rule.label} must be a JSON object, found {describe(ext_value)}",
                    expr,
                )
                return
            element = self.compiler.structure("Element")
            if element is not None:
                outer_owner = ctx.primitive_owner
                ctx.primitive_owner = (rule.path, type_rule.code)
                self.validate_object(ext_value, element, expr, ctx)
                ctx.primitive_owner = outer_owner
        if value is None:
            if not ele1_holds(None, ext_value):
                ctx.add(
                    ERROR,
                    IssueType.INVARIANT,
                    msg.INVARIANT,
                    f"ele-1: All FHIR elements must have a @value or children; {rule.label} has neither",
                    expr,
                )
            return
        is_string = isinstance(value, str)
        why = None if is_string and primitive.json_kind == "string" else primitive.check(value)
        if why is not None:
            ctx.add(ERROR, IssueType.VALUE, msg.TYPE, f"{rule.label} must be {why}", expr)
            return
        if is_string and not primitive.check_format(value):
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.FORMAT,
                f"{rule.label} must be a valid FHIR {primitive.name}, found {value!r}",
                expr,
            )
            return
        if (rule.fixed is not MISSING or rule.pattern is not MISSING) and not self._fixed_pattern(
            value, rule, expr, ctx
        ):
            return
        limited = (
            rule.max_length is not None or rule.min_value is not MISSING or rule.max_value is not MISSING
        )
        if limited and not self._within_limits(value, rule, expr, ctx):
            return
        if is_string and primitive.name in ("string", "markdown"):
            size = string_too_long(value)
            if size is not None:
                ctx.add(
                    ERROR,
                    IssueType.TOO_LONG,
                    msg.TOO_LONG,
                    f"{rule.label} is {size} bytes; FHIR R4 strings may be at most 1 MB (1048576 bytes)",
                    expr,
                )
                return
        elif primitive.name == "xhtml" and isinstance(value, str):
            check_narrative_links(value, expr, ctx.add, ctx.resource)
        if rule.binding_strength in ("required", "extensible") and type_rule.code == "code":
            self._check_binding(value, rule, "code", expr, ctx)
        if rule.invariants:
            self.check_invariants(value, rule.invariants, type_rule.code, expr, ctx, ctx.errors)

    # -- values against the profile ----------------------------------------------------------------

    def _within_limits(self, value: Any, rule: ElementRule, expr: str, ctx: Context) -> bool:
        """maxLength, minValue[x] and maxValue[x] of the profile."""
        if rule.max_length is not None and isinstance(value, str) and len(value) > rule.max_length:
            ctx.add(
                ERROR,
                IssueType.TOO_LONG,
                msg.TOO_LONG,
                f"{rule.label} may be at most {rule.max_length} characters (profile {rule.profile_name}), "
                f"found {len(value)}",
                expr,
            )
            return False
        for bound, word, outside in (
            (rule.min_value, "at least", lambda v, b: v < b),
            (rule.max_value, "at most", lambda v, b: v > b),
        ):
            if bound is MISSING or type(bound) is bool or isinstance(value, bool):
                continue
            comparable = (isinstance(bound, (int, float)) and isinstance(value, (int, float))) or (
                isinstance(bound, str) and isinstance(value, str) and len(bound) == len(value)
            )
            if comparable and outside(value, bound):
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.VALUE_RANGE,
                    f"{rule.label} must be {word} {bound} (profile {rule.profile_name}), found {value}",
                    expr,
                )
                return False
        return True

    def _quantity_within_limits(
        self, value: dict[str, Any], rule: ElementRule, expr: str, ctx: Context
    ) -> bool:
        """minValueQuantity / maxValueQuantity, with UCUM conversion (quantities.py)."""
        for bound, word, outside in ((rule.min_value, "at least", -1), (rule.max_value, "at most", 1)):
            if not isinstance(bound, dict):
                continue
            result = compare_quantities(value, bound)
            shown = f"{bound.get('value')} {bound.get('code') or bound.get('unit') or ''}".strip()
            found = f"{value.get('value')} {value.get('code') or value.get('unit') or ''}".strip()
            if result.order is None:
                ctx.add(
                    WARNING,
                    IssueType.VALUE,
                    msg.VALUE_UNCHECKED,
                    f"{rule.label} must be {word} {shown} (profile {rule.profile_name}), but {found} "
                    f"could not be compared: {result.why}",
                    expr,
                )
            elif result.order == outside:
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.VALUE_RANGE,
                    f"{rule.label} must be {word} {shown} (profile {rule.profile_name}), found {found}",
                    expr,
                )
                return False
        return True

    def _fixed_pattern(self, value: Any, rule: ElementRule, expr: str, ctx: Context) -> bool:
        if rule.fixed is not MISSING and value != rule.fixed:
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.FIXED,
                f"{rule.label} must be exactly {_show(rule.fixed)} (profile {rule.profile_name}), "
                f"found {_show(value)}",
                expr,
            )
            return False
        if rule.pattern is not MISSING and not matches_pattern(value, rule.pattern):
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.PATTERN,
                f"{rule.label} must match {_show(rule.pattern)} (profile {rule.profile_name}), "
                f"found {_show(value)}",
                expr,
            )
            return False
        return True

    def _check_binding(self, value: Any, rule: ElementRule, code: str, expr: str, ctx: Context) -> bool:
        valueset = rule.binding_value_set or ""
        if code == "code":
            result = self.terminology.validate_code(valueset, None, value)
        elif code == "Coding" or code in QUANTITY_TYPES:  # a Quantity's binding applies to its system|code
            if not isinstance(value.get("code"), str):
                return True
            result = self.terminology.validate_code(valueset, value.get("system"), value["code"])
        else:
            codings = [
                (c.get("system"), c["code"])
                for c in value.get("coding", [])
                if isinstance(c, dict) and isinstance(c.get("code"), str)
            ]
            if not codings:
                if rule.binding_strength == "required":
                    ctx.add(
                        ERROR,
                        IssueType.CODE_INVALID,
                        msg.CODE_NOT_IN_VS,
                        f"{rule.label} has a required binding to {valueset} but carries no coded value",
                        expr,
                    )
                    return False
                return True
            result = self.terminology.validate_codings(valueset, codings)
        if result.valid is True:
            return True
        if result.valid is None:
            # cannot be checked here (e.g. ISO 3166, SNOMED CT): a warning where the binding is required, only
            # information where it is extensible (the code may legitimately come from elsewhere anyway)
            unchecked = WARNING if rule.binding_strength == "required" else IssueSeverity.INFORMATION
            ctx.add(unchecked, IssueType.CODE_INVALID, msg.CODE_UNCHECKED, result.message, expr)
            return True
        severity = ERROR if rule.binding_strength == "required" else WARNING
        allowed = self.terminology.allowed_codes(valueset)
        ctx.add(
            severity,
            IssueType.CODE_INVALID,
            msg.CODE_NOT_IN_VS,
            f"{rule.label} has a {rule.binding_strength} binding: {result.message}"
            + (f"; {allowed}" if allowed else ""),
            expr,
        )
        return severity is not ERROR

    def _is_value_set(self, url: str) -> bool:
        """Whether ``url`` is the canonical of a ValueSet known here (and not a code system's); cached, as a
        handful of systems recur in every input."""
        known = self._value_set_urls.get(url)
        if known is None:
            resource = self.terminology.store.get(url)
            known = isinstance(resource, dict) and resource.get("resourceType") == "ValueSet"
            if len(self._value_set_urls) < 10_000:
                self._value_set_urls[url] = known
        return known

    @staticmethod
    def _owners(rule: ElementRule, owner: str, ctx: Context) -> set[str]:
        """The names an extension's owner answers to: its instance path, its definition path, its type."""
        owners = {owner}
        definition_path = rule.path.rsplit(".", 1)[0]
        if definition_path == "Element" and ctx.primitive_owner:
            owners.update(ctx.primitive_owner)  # an extension on a primitive (``_birthDate``): path and type
        else:
            owners.add(definition_path)  # e.g. ``Identifier`` or ``ElementDefinition.type``
        return owners

    def _extension_structure(
        self, value: dict[str, Any], rule: ElementRule, expr: str, ctx: Context
    ) -> Structure | None:
        """The definition governing an extension no slice claimed: its own (context-checked) or generic."""
        url = value.get("url")
        definition = self.compiler.extension_definition(url) if isinstance(url, str) else None
        if definition is None:
            relative = isinstance(url, str) and ":" not in url and "/" not in url
            if relative and rule.profile_name == "Extension":
                pass  # a part of an extension that is itself unknown (already reported): one fault, one issue
            elif isinstance(url, str):
                severity = self.extension_policy.severity(url, ctx.profile_url)
                why = {
                    ERROR: "; unknown extensions are not allowed here (policy unknown_extensions)",
                    IssueSeverity.INFORMATION: "; its domain is allowed (policy unknown_extensions)",
                }.get(severity, "")
                ctx.add(
                    severity,
                    IssueType.EXTENSION,
                    msg.EXT_UNKNOWN,
                    f"extension {url!r} is not defined by the guide or FHIR R4 core, so its content "
                    f"was not checked against a definition{why}",
                    expr,
                )
            return self.compiler.structure("Extension")
        contexts = self.compiler.extension_contexts(url)
        owner = _instance_path(ctx.resource, ctx.resource_expr, expr)
        if contexts and not _context_allows(contexts, self._owners(rule, owner, ctx), "." not in owner):
            ctx.add(
                ERROR,
                IssueType.STRUCTURE,
                msg.EXT_CONTEXT,
                f"extension {url} may be used on {', '.join(contexts)}, not on {owner}",
                expr,
            )
            return None
        return definition

    # -- invariants --------------------------------------------------------------------------------

    def check_invariants(
        self,
        value: Any,
        invariants: list[Invariant],
        type_path: str | None,
        expr: str,
        ctx: Context,
        errors_before: int,
        suppress_roots: bool = False,
    ) -> None:
        """Evaluate invariants unless the content already has errors (they would only echo those)."""
        if not invariants:
            return
        if ctx.errors != errors_before and not suppress_roots:
            return
        for invariant in invariants:
            if invariant.skip_reason is not None:
                continue
            if suppress_roots and ctx.errors != errors_before and self._explained(invariant, ctx, expr):
                continue
            verdict = invariant.evaluate(value, type_path, ctx.resource, ctx.root_resource)
            if verdict is False:
                severity = WARNING if invariant.severity == "warning" else ERROR
                ctx.add(
                    severity,
                    IssueType.INVARIANT,
                    msg.INVARIANT,
                    invariant.message(value),
                    expr,
                    rule=invariant.expression,
                )
            elif verdict is None and invariant.skip_reason is None:
                # the FHIRPath engine failed on this input: say so rather than let "not checked" pass silently
                ctx.add(
                    IssueSeverity.INFORMATION,
                    IssueType.INFORMATIONAL,
                    msg.INVARIANT_UNCHECKED,
                    f"{invariant.key} could not be evaluated on this value (a gap in the FHIRPath engine), "
                    f"so it was not checked: {invariant.human}",
                    expr,
                    rule=invariant.expression,
                )

    @staticmethod
    def _explained(invariant: Invariant, ctx: Context, expr: str) -> bool:
        """A resource-level invariant is skipped when an error inside names an element it reads."""
        for issue in ctx.issues:
            if issue.severity is not ERROR or not issue.expression or not issue.expression.startswith(expr):
                continue
            if issue.message_id == msg.RESOURCE_TYPE:
                return True
            last = issue.expression.rsplit(".", 1)[-1].split("[", 1)[0]
            if last and re.search(rf"\b{re.escape(last)}\b", invariant.expression):
                return True
        return False


def _choice_for(structure: Structure, key: str) -> ElementRule | None:
    """The choice element an unknown property like ``valueString`` was meant for, if any."""
    for child in structure.children:
        if (
            child.choice
            and key.startswith(child.name)
            and key[len(child.name) : len(child.name) + 1].isupper()
        ):
            return child
    return None


def _instance_path(resource: Any, resource_expr: str, expr: str) -> str:
    """The element path an extension sits on, from its FHIRPath: ``Patient.identifier`` for
    ``Bundle.entry[1].resource.identifier[0].extension[0]``."""
    resource_type = resource.get("resourceType", "") if isinstance(resource, dict) else ""
    relative = expr[len(resource_expr) :] if expr.startswith(resource_expr) else expr
    relative = re.sub(r"\[\d+\]", "", relative)
    relative = re.sub(r"\.ofType\(\w+\)", "", relative)
    return (resource_type + relative).rsplit(".extension", 1)[0].rsplit(".modifierExtension", 1)[0]


def _context_allows(contexts: list[str], owners: set[str], on_resource: bool) -> bool:
    """Whether an extension whose definition lists ``contexts`` may sit on an element known by ``owners``."""
    for context in contexts:
        if context == "Element" or context in owners:
            return True
        if on_resource and context in RESOURCE_CONTEXTS:
            return True
    return False


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)[:200]
