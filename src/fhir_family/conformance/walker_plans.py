"""The walker specialised per compiled structure at load time: one closure per object type and element.

The generic walker (``engine.Walker``) interprets a ``Structure`` on every object: it groups the JSON
properties by element, sorts the positions, builds each element's FHIRPath expression, pairs every value with
its ``_name`` extension and dispatches on the element's shape, whether or not anything is wrong. Here each
structure becomes, on first use, a closure that knows its elements (their handlers, which are required), and
each element a closure that knows its shape (single or array, bounds, primitive checker, fixed value,
binding). On the usual input the hot path is a dict look-up and a call per property, and no expression string
is built for a primitive: it is built only when something has to be reported or checked elsewhere.

Outcomes are the generic walker's, by construction: a closure only *proves* that the generic code would
report nothing and do nothing for the case it handles (a primitive that passes its JSON type, format, fixed
value and required binding; an object whose properties are all known, in order, with every required element
present), and anything else (an unknown or ``_name`` property, a missing required element, an array where a
single value belongs, a slicing, a count out of bounds, a value that fails a check) is handed, before any
side effect, to the generic method with the very arguments it would have received. Complex values still go
through ``Walker.validate_item`` (references, bindings, invariants), whose objects come back here.
``tests/test_validator_walker_plans.py`` compares the full OperationOutcome of both walkers on every example,
the UK Core package's examples and seeded mutations. ``Validator(..., specialised_walker=False)`` switches
it off.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from .datatype_rules import MAX_STRING_BYTES, check_coding, string_too_long
from .engine import RESOURCE_CONTEXTS, Context, Walker, matches_pattern
from .invariants import Invariant, ext1_holds
from .quantities import QUANTITY_TYPES
from .rules import MISSING, ElementRule, Structure, TypeRule

#: (parent's expression, value, context): validates one JSON property's value as the generic walker would
ElementPlan = Callable[[Any, str, Context], None]
#: (object, its expression, context, whether it is a resource's root): False hands it to the generic walker
ObjectPlan = Callable[[dict[str, Any], str, Context, bool], bool]
#: (value, its expression, context): one value of an element
ItemPlan = Callable[[Any, str, Context], None]
#: value -> True when the generic primitive check would report nothing for it (and do nothing else)
Clean = Callable[[Any], bool]

_BY_POSITION = itemgetter(0)
#: an object's handlers in definition order, with the JSON name each reads
Shape = tuple[tuple[str, "ElementPlan"], ...]
_SHAPES_AT_MOST = 512  # per structure; beyond it a new shape is worked out each time (never wrong)
#: a string this short cannot exceed R4's 1 MB (string_too_long's own first test)
_SURELY_SHORT = MAX_STRING_BYTES // 4


class SpecialisedWalker(Walker):
    """``Walker`` with a closure per compiled structure and element, built on first use and kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: id(structure) -> (structure, its plan): the structure is held so its id is never reused
        self._object_plans: dict[int, tuple[Structure, ObjectPlan]] = {}

    def validate_object(
        self, obj: dict[str, Any], structure: Structure, expr: str, ctx: Context, resource_root: bool = False
    ) -> None:
        if not self._object_plan(structure)(obj, expr, ctx, resource_root):
            Walker.validate_object(self, obj, structure, expr, ctx, resource_root)

    def prepare(self, structure: Structure) -> None:
        """Build the structure's plan now (``Validator.warm_up``), not on the first object it checks."""
        self._object_plan(structure)

    def _object_plan(self, structure: Structure) -> ObjectPlan:
        known = self._object_plans.get(id(structure))
        if known is None:
            known = (structure, self._plan_object(structure))
            self._object_plans[id(structure)] = known  # a race builds it twice; either is right
        return known[1]

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
        """The usual case, every invariant answered True by its native form, in one loop; anything else
        (errors already inside, an invariant failing, unanswered or skipped) by the generic method, from
        the start (an invariant is a pure function of the value: the ones already passed pass again)."""
        if not invariants:
            return
        if ctx.errors == errors_before:
            for invariant in invariants:
                fast = invariant._fast
                if fast is None or invariant.skip_reason is not None or fast(value) is not True:
                    break
            else:
                return
        Walker.check_invariants(self, value, invariants, type_path, expr, ctx, errors_before, suppress_roots)

    # -- objects -----------------------------------------------------------------------------------

    def _plan_object(self, structure: Structure) -> ObjectPlan:
        required = frozenset(structure.required)
        needed = len(required)
        #: JSON name -> (position in children, handler, whether the element is required)
        handlers: dict[str, tuple[int, ElementPlan, bool]] = {
            name: (position, self._plan_element(rule, type_rule, name), position in required)
            for name, (rule, type_rule, position) in structure.lookup.items()
        }

        def learn(keys: tuple[str, ...], resource_root: bool) -> Shape | None:
            """The handlers, in definition order, for an object with these properties, or None when the
            generic walker must take it (it reports something, or the same element is given twice)."""
            found = []
            present = 0
            for key in keys:
                hit = handlers.get(key)
                if hit is None:
                    if key == "resourceType" and resource_root:
                        continue
                    return None  # unknown, ``_name`` or misnamed choice property: the generic walker says
                present += hit[2]
                found.append((hit[0], key, hit[1]))
            found.sort(key=_BY_POSITION)  # the generic walker visits elements in definition order
            if any(a[0] == b[0] for a, b in zip(found, found[1:], strict=False)):
                return None  # two JSON names of one choice element
            if present != needed:
                return None  # a required element is missing: reported by the generic walker
            return tuple((key, handler) for _position, key, handler in found)

        #: the properties of an object, in JSON order -> its handlers (objects of one type mostly share a
        #: handful of shapes); one table for resource roots, whose ``resourceType`` is not an element
        shapes: tuple[dict[tuple[str, ...], Shape], ...] = ({}, {})

        def plan(obj: dict[str, Any], expr: str, ctx: Context, resource_root: bool) -> bool:
            keys = tuple(obj)
            table = shapes[resource_root]
            shape = table.get(keys)
            if shape is None:
                shape = learn(keys, resource_root)
                if shape is None:
                    return False
                if len(table) < _SHAPES_AT_MOST:
                    table[keys] = shape  # only element names, each once: input text is never kept
            for key, handler in shape:
                handler(obj[key], expr, ctx)
            return True

        return plan

    # -- elements ----------------------------------------------------------------------------------

    def _plan_element(self, rule: ElementRule, type_rule: TypeRule, json_name: str) -> ElementPlan:
        group = self._validate_group

        def generic(value: Any, expr: str, ctx: Context) -> None:
            group(rule, [(json_name, type_rule, value)], (), expr, ctx)

        if rule.max == 0 or type_rule.unconstrained or (not rule.repeats and rule.min > 1):
            return generic
        suffix = f".{rule.name}.ofType({type_rule.code})" if rule.choice else f".{rule.name}"
        if rule.slices:
            return self._plan_sliced(rule, type_rule, suffix, generic)
        clean = self._clean_primitive(rule, type_rule)
        complex_item = self._plan_complex(rule, type_rule) if type_rule.primitive is None else None
        if not rule.repeats:
            if clean is not None:
                validate_primitive = self._validate_primitive
                plain = self._plain_text(rule, type_rule)
                if plain is not None:
                    return self._single_text(plain, rule, type_rule, suffix, generic)

                def single_primitive(value: Any, expr: str, ctx: Context) -> None:
                    if clean(value):
                        return
                    if value is None or type(value) is list:
                        generic(value, expr, ctx)
                    else:
                        validate_primitive(value, None, rule, type_rule, expr + suffix, ctx)

                return single_primitive
            check = complex_item or self._plan_item(rule, type_rule)

            def single(value: Any, expr: str, ctx: Context) -> None:
                if value is None or type(value) is list:
                    generic(value, expr, ctx)
                else:
                    check(value, expr + suffix, ctx)

            return single
        # an array of a count the generic walker accepts as it is (empty, too short or too long: it reports)
        least, most = max(rule.min, 1), rule.max if rule.max is not None else sys.maxsize
        if clean is not None:
            validate_primitive = self._validate_primitive

            def primitives(value: Any, expr: str, ctx: Context) -> None:
                if type(value) is not list or not least <= len(value) <= most:
                    generic(value, expr, ctx)
                else:
                    for index, item in enumerate(value):
                        if not clean(item):
                            validate_primitive(item, None, rule, type_rule, f"{expr}{suffix}[{index}]", ctx)

            return primitives
        check = complex_item or self._plan_item(rule, type_rule)

        def many(value: Any, expr: str, ctx: Context) -> None:
            if type(value) is not list or not least <= len(value) <= most:
                generic(value, expr, ctx)
            else:
                base = expr + suffix
                for index, item in enumerate(value):
                    check(item, f"{base}[{index}]", ctx)

        return many

    def _single_text(
        self,
        plain: tuple[set[str] | None, Clean, bool],
        rule: ElementRule,
        type_rule: TypeRule,
        suffix: str,
        generic: ElementPlan,
    ) -> ElementPlan:
        """One text primitive with nothing but its lexical rule to meet (most of a return's values), the
        test written out in one closure: a code, uri or canonical seen valid before is one set look-up."""
        valid, check_format, sized = plain
        validate_primitive = self._validate_primitive

        def fallback(value: Any, expr: str, ctx: Context) -> None:
            if value is None or type(value) is list:
                generic(value, expr, ctx)
            else:
                validate_primitive(value, None, rule, type_rule, expr + suffix, ctx)

        if valid is not None:

            def single_remembered(value: Any, expr: str, ctx: Context) -> None:
                if type(value) is not str or (value not in valid and not check_format(value)):
                    fallback(value, expr, ctx)

            return single_remembered
        if sized:

            def single_string(value: Any, expr: str, ctx: Context) -> None:
                if (
                    type(value) is not str
                    or not check_format(value)
                    or (len(value) > _SURELY_SHORT and string_too_long(value) is not None)
                ):
                    fallback(value, expr, ctx)

            return single_string

        def single_text(value: Any, expr: str, ctx: Context) -> None:
            if type(value) is not str or not check_format(value):
                fallback(value, expr, ctx)

        return single_text

    @staticmethod
    def _plain_text(rule: ElementRule, type_rule: TypeRule) -> tuple[set[str] | None, Clean, bool] | None:
        """(its set of values known valid, its format check, whether R4's 1 MB limit applies) for a text
        primitive whose only check is its lexical rule (``_clean_primitive`` settles that it has no other)."""
        primitive = type_rule.primitive
        if primitive is None or primitive.json_kind != "string" or rule.fixed is not MISSING:
            return None
        if rule.pattern is not MISSING or rule.binding_strength in ("required", "extensible"):
            return None
        return primitive.valid, primitive.check_format, primitive.name in ("string", "markdown")

    def _plan_sliced(
        self, rule: ElementRule, type_rule: TypeRule, suffix: str, generic: ElementPlan
    ) -> ElementPlan:
        """A sliced element whose items find their slice in the compiled table (extensions by url,
        identifiers by system): counted, then each item validated against its slice, as
        ``_validate_sliced`` does; a slice or element count out of bounds, an item of a closed slicing in no
        slice or a discriminator value that is not text goes to the generic walker (it reports, or matches
        slice by slice)."""
        slices = rule.slices
        bounds = [(s.min, s.max if s.max is not None else sys.maxsize) for s in slices]
        slice_types = [s.types[0] if s.types else type_rule for s in slices]
        closed = rule.slicing_rules == "closed"
        repeats = rule.repeats
        least, most = max(rule.min, 1), rule.max if rule.max is not None else sys.maxsize
        #: each slice's item check, and the check of an item in no slice (the sliced element's own)
        slice_checks = [self._plan_any(s, t) for s, t in zip(slices, slice_types, strict=True)]
        unsliced = self._plan_any(rule, type_rule)
        by_type = _type_slices(rule)

        def sliced(value: Any, expr: str, ctx: Context) -> None:
            table = rule.slice_table  # read live: a test takes the tables away to compare the generic matcher
            if table is None and by_type is None:
                generic(value, expr, ctx)
                return
            if repeats:
                if type(value) is not list or not least <= len(value) <= most:
                    generic(value, expr, ctx)
                    return
                items = value
            elif value is None or type(value) is list:
                generic(value, expr, ctx)
                return
            else:
                items = (value,)
            counts = [0] * len(slices)
            assigned: list[int | None] = []
            for item in items:
                if table is None:
                    position = by_type(item)  # type: ignore[misc]
                    if position is _NOT_PLAIN:
                        generic(value, expr, ctx)
                        return
                    if position is not None:
                        counts[position] += 1
                else:
                    actual = item.get(table[0], MISSING) if isinstance(item, dict) else MISSING
                    if actual is MISSING:
                        position = None
                    elif type(actual) is not str:
                        generic(value, expr, ctx)
                        return
                    else:
                        position = table[1].get(actual)
                        if position is not None:
                            counts[position] += 1
                if position is None and closed:
                    generic(value, expr, ctx)
                    return
                assigned.append(position)
            for count, (low, high) in zip(counts, bounds, strict=True):
                if not low <= count <= high:
                    generic(value, expr, ctx)
                    return
            base = expr + suffix
            for index, (item, position) in enumerate(zip(items, assigned, strict=True)):
                item_expr = f"{base}[{index}]" if repeats else base
                if position is None:
                    unsliced(item, item_expr, ctx)
                else:
                    slice_checks[position](item, item_expr, ctx)

        return sliced

    def _plan_any(self, rule: ElementRule, type_rule: TypeRule) -> ItemPlan:
        """One value of the element, as ``Walker.validate_item`` would (primitive or complex)."""
        if type_rule.unconstrained:
            validate_item = self.validate_item

            def item(value: Any, expr: str, ctx: Context) -> None:
                validate_item(value, None, rule, type_rule, expr, ctx)

            return item
        clean = self._clean_primitive(rule, type_rule)
        if clean is not None:
            validate_primitive = self._validate_primitive

            def checked(value: Any, expr: str, ctx: Context) -> None:
                if not clean(value):
                    validate_primitive(value, None, rule, type_rule, expr, ctx)

            return checked
        return self._plan_complex(rule, type_rule) or self._plan_item(rule, type_rule)

    def _plan_complex(self, rule: ElementRule, type_rule: TypeRule) -> ItemPlan | None:
        """A complex value of a data type (not a resource, not an extension found by its url), as
        ``Walker.validate_item`` would: its object plan, then the checks on the value as a whole only where
        the element or the type has any (``_validate_content``). Not a JSON object, empty (ele-1) or an
        extension profile that is not loaded: the generic method, which reports."""
        code = type_rule.code
        if type_rule.unconstrained or code in RESOURCE_CONTEXTS or self.compiler.is_resource_type(code):
            return None
        if code == "Extension" and not type_rule.profiles and not rule.children and rule.slice_name is None:
            return None  # the extension's definition is found by its url, per value
        walker, generic_item, generic_object = self, self.validate_item, Walker.validate_object
        check_ele1 = rule.check_ele1
        profiled_extension = code == "Extension" and bool(type_rule.profiles)
        any_profile_known = self.compiler.any_profile_known
        content_structure = self.compiler.content_structure
        structures = rule.structures
        bound = rule.binding_strength in ("required", "extensible") and (
            code in ("Coding", "CodeableConcept") or code in QUANTITY_TYPES
        )
        #: the whole-value checks beyond ext-1 and invariants: those go through ``_validate_content``
        #: whole-value rules left to ``_validate_content`` itself (rarer, or with more to replicate)
        content_rules = (
            rule.fixed is not MISSING
            or rule.pattern is not MISSING
            or code in ("Attachment", "Reference")
            or code in QUANTITY_TYPES
        )
        coding = code == "Coding"
        check_binding, is_value_set = self._check_binding, self._is_value_set
        extension = code == "Extension"
        type_path = code if code not in ("BackboneElement", "Element") else rule.path
        check_invariants, validate_content = self.check_invariants, self._validate_content

        def whole_value(structure: Structure) -> Callable[[Any, str, Context], None] | None:
            """What ``_validate_content`` would do with a value of this structure, or None for nothing."""
            if content_rules:

                def content(value: Any, expr: str, ctx: Context) -> None:
                    validate_content(value, rule, type_rule, structure, expr, ctx)

                return content
            invariants = rule.invariants
            if structure.invariants and structure.invariants is not rule.invariants:
                keys = {inv.key for inv in invariants}
                invariants = invariants + [inv for inv in structure.invariants if inv.key not in keys]
            ext1 = extension and (rule.check_ext1 or structure.check_ext1)
            if coding or bound:
                # _validate_content's order for a Coding or a bound CodeableConcept with no fixed value or
                # pattern: Coding.system rules, then the binding, then the invariants (ext-1 is not theirs)

                def coded(value: Any, expr: str, ctx: Context) -> None:
                    if coding and not check_coding(value, expr, ctx.add, is_value_set):
                        return
                    if bound and not check_binding(value, rule, code, expr, ctx):
                        return
                    if invariants:
                        check_invariants(value, invariants, type_path, expr, ctx, ctx.errors)

                return coded
            if ext1:

                def extension_content(value: Any, expr: str, ctx: Context) -> None:
                    if not ext1_holds(value):
                        validate_content(value, rule, type_rule, structure, expr, ctx)  # reports ext-1
                    elif invariants:
                        check_invariants(value, invariants, type_path, expr, ctx, ctx.errors)

                return extension_content
            if not invariants:
                return None

            def invariants_only(value: Any, expr: str, ctx: Context) -> None:
                check_invariants(value, invariants, type_path, expr, ctx, ctx.errors)

            return invariants_only

        #: whether the extension profile named is loaded: fixed once definitions are loaded, so asked on the
        #: first value (not when the plan is built: an element absent from every input compiles nothing)
        profile_known: list[bool | None] = [None]

        def profile_loaded() -> bool:
            """Asked until true (false: the generic walker reports it; a later call may compile it)."""
            answer = any_profile_known(type_rule)
            if answer:
                profile_known[0] = True
            return answer

        #: (structure, its plan, its whole-value check): swapped as one tuple, so threads never mix them
        last: list[tuple[Any, Any, Any]] = [(None, None, None)]

        def complex_item(value: Any, expr: str, ctx: Context) -> None:
            if (
                type(value) is not dict
                or (check_ele1 and (not value or (len(value) == 1 and "id" in value)))
                or (profiled_extension and not profile_known[0] and not profile_loaded())
            ):
                generic_item(value, None, rule, type_rule, expr, ctx)
                return
            structure = structures.get(code) or content_structure(rule, type_rule)
            if structure is None:
                return
            known = last[0]
            if known[0] is not structure:
                known = (structure, walker._object_plan(structure), whole_value(structure))
                last[0] = known
            before = ctx.errors
            if not known[1](value, expr, ctx, False):
                generic_object(walker, value, structure, expr, ctx)
            if known[2] is not None and ctx.errors == before:
                known[2](value, expr, ctx)

        return complex_item

    def _plan_item(self, rule: ElementRule, type_rule: TypeRule) -> Callable[[Any, str, Context], None]:
        """One value of the element (at its full expression), as the generic ``_validate_group`` would."""
        if type_rule.primitive is None:
            validate_item = self.validate_item

            def item(value: Any, expr: str, ctx: Context) -> None:
                validate_item(value, None, rule, type_rule, expr, ctx)

            return item
        validate_primitive = self._validate_primitive
        clean = self._clean_primitive(rule, type_rule)
        if clean is None:

            def primitive(value: Any, expr: str, ctx: Context) -> None:
                validate_primitive(value, None, rule, type_rule, expr, ctx)

            return primitive

        def checked(value: Any, expr: str, ctx: Context) -> None:
            if not clean(value):
                validate_primitive(value, None, rule, type_rule, expr, ctx)

        return checked

    def _clean_primitive(self, rule: ElementRule, type_rule: TypeRule) -> Clean | None:
        """A test that a value (without ``_name`` extensions) passes every check ``_validate_primitive``
        makes, with no side effect; None where that is not worth proving (value ranges, lengths, narrative,
        invariants on a primitive: rare), so the generic check always runs."""
        primitive = type_rule.primitive
        if primitive is None or type_rule.unconstrained or primitive.name == "xhtml" or rule.invariants:
            return None
        if rule.max_length is not None or rule.min_value is not MISSING or rule.max_value is not MISSING:
            return None
        check, check_format = primitive.check, primitive.check_format
        if primitive.json_kind == "string":
            sized = primitive.name in ("string", "markdown")

            def lexical(value: Any) -> bool:
                return (
                    isinstance(value, str)
                    and check_format(value)
                    and (not sized or string_too_long(value) is None)
                )

        else:

            def lexical(value: Any) -> bool:
                return value is not None and check(value) is None

        fixed, pattern = rule.fixed, rule.pattern
        valueset = rule.binding_value_set or ""
        bound = rule.binding_strength in ("required", "extensible") and type_rule.code == "code"
        if fixed is MISSING and pattern is MISSING and not bound:
            return lexical
        validate_code = self.terminology.validate_code

        def clean(value: Any) -> bool:
            if not lexical(value):
                return False
            if fixed is not MISSING and value != fixed:
                return False
            if pattern is not MISSING and not matches_pattern(value, pattern):
                return False
            return not bound or validate_code(valueset, None, value).valid is True

        return clean


_NOT_PLAIN: Any = object()
_ANY_TYPE: Any = object()


def _type_slices(rule: ElementRule) -> Callable[[Any], Any] | None:
    """For an element sliced by the type of a resource at a property (``Bundle.entry`` by ``resource``):
    item -> the position of the first slice it matches, None for none, ``_NOT_PLAIN`` for an item whose
    shape the generic matcher should judge (not an object, several or odd values at the property). The same
    answer as ``Walker._in_slice`` tried slice by slice; None when the element is not sliced that way."""
    if len(rule.discriminators) != 1:
        return None
    discriminator = rule.discriminators[0]
    path = discriminator.path
    if discriminator.kind != "type" or path == "$this" or "." in path:
        return None
    #: per slice: None (constrains nothing: matches no item), _ANY_TYPE (leaves the type open), or the types
    kinds: list[Any] = []
    for slice_rule in rule.slices:
        values = slice_rule.discriminator_values
        if not values:
            kinds.append(None)
        elif values[0] is MISSING:
            kinds.append(_ANY_TYPE)
        else:
            kinds.append(values[0])

    def position(item: Any) -> Any:
        if type(item) is not dict:
            return _NOT_PLAIN
        target = item.get(path)
        if target is None:
            resource_type = None  # nothing there: only a slice that leaves the type open matches
        elif type(target) is not dict or type(target.get("resourceType")) is not str:
            return _NOT_PLAIN
        else:
            resource_type = target["resourceType"]
        for index, kind in enumerate(kinds):
            if kind is None:
                continue
            if kind is _ANY_TYPE or (resource_type is not None and resource_type in kind):
                return index
        return None

    return position
