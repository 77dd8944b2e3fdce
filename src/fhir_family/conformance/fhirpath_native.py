"""The guide's FHIRPath invariants compiled once, at load time, to Python closures over the JSON.

fhirpathpy interprets an expression's parse tree on every evaluation, wrapping each value in a node object;
for the guide's consistency rules (``ff-bun-5``, ``ff-pr-3``, ...) that was ~85% of a return's validation.
This compiles the parse tree fhirpathpy itself produces (same grammar, same precedence) into closures that
walk the plain JSON, for a deliberately small subset of FHIRPath: member access, ``ofType(Resource)``,
``where``/``all``/``exists``/``empty``/``count``/``isDistinct``/``iif``/``not``/``toString``/``substring``,
``=``/``!=``, string ordering, ``and``/``or``/``implies``, literals, ``$this`` and ``%context``.

It never guesses. An expression outside the subset does not compile (``compile_native`` returns None), and
an input it does not model exactly raises ``_Unsupported`` inside, so the closure answers None: in both cases
fhirpathpy evaluates the invariant as before. What is not modelled: primitive extensions (``_birthDate``),
decimals, collections where FHIRPath wants one item, and any ordering or equality on a value that may be a
date or time (FHIRPath compares those by precision, not as text): ``>`` compares only strings made by
``toString()``/``substring()`` or literals, and ``=`` refuses a JSON string that starts with a digit unless
both sides are such strings. ``tests/test_validator_invariants.py`` compares this with fhirpathpy on every
example and on edge cases for every guide invariant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fhirpathpy.parser import parse

Env = dict[str, Any]
Fn = Callable[[list[Any], Env], list[Any]]
STRING, INTEGER, BOOLEAN, ANY = "string", "integer", "boolean", "any"


_NO_THIS = object()


class _Unsupported(Exception):
    """This expression or this input is outside what the native form models: fhirpathpy decides."""


def compile_native(expression: str) -> Callable[[Any], bool | None] | None:
    """The invariant as ``f(data) -> True/False`` (None: not modelled for this input), or None when the
    expression is outside the subset."""
    try:
        tree = parse(expression)
        fn, _kind = _compile(tree)
    except _Unsupported:
        return None
    except Exception:  # noqa: BLE001 - a parse failure is fhirpathpy's to report, as before
        return None

    def holds(data: Any) -> bool | None:
        try:
            result = fn([data], {"context": data})
        except _Unsupported:
            return None
        if len(result) == 1:
            return result[0] is True
        return bool(result) and all(value is True for value in result)

    return holds


# -- compiling the parse tree --------------------------------------------------------------------------------


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return node.get("children") or []


def _only(node: dict[str, Any]) -> dict[str, Any]:
    children = _children(node)
    if len(children) != 1:
        raise _Unsupported(node.get("type"))
    return children[0]


def _compile(node: dict[str, Any]) -> tuple[Fn, str]:
    kind = node.get("type")
    if kind is None or kind in ("TermExpression", "InvocationTerm", "LiteralTerm"):
        return _compile(_only(node))
    if kind == "ParenthesizedTerm":
        return _compile(_only(node))
    if kind == "InvocationExpression":
        # ``a.b.where(...).c.exists()`` nests to the left: compiled as one loop over its steps, not as one
        # closure per step calling the one before
        invocations = []
        while node.get("type") == "InvocationExpression":
            source, invocation = _children(node)
            invocations.append(invocation)
            node = source
        head, _ = _compile(node)
        compiled = [_invocation(invocation) for invocation in reversed(invocations)]
        steps = (head, *(step for step, _kind in compiled))
        result_kind = compiled[-1][1]

        def chain(focus: list[Any], env: Env) -> list[Any]:
            for step in steps:
                focus = step(focus, env)
            return focus

        return chain, result_kind
    if kind in ("MemberInvocation", "FunctionInvocation", "ThisInvocation"):
        return _invocation(node)
    if kind == "StringLiteral":
        value = _string_literal(node["text"])
        return (lambda focus, env: [value]), STRING
    if kind == "BooleanLiteral":
        flag = node["text"] == "true"
        return (lambda focus, env: [flag]), BOOLEAN
    if kind == "NumberLiteral":
        text = node["text"]
        if not text.isdigit():
            raise _Unsupported("decimal literal")
        number = int(text)
        return (lambda focus, env: [number]), INTEGER
    if kind == "ExternalConstantTerm":
        return _external(node)
    if kind == "EqualityExpression":
        return _equality(node)
    if kind == "InequalityExpression":
        return _ordering(node)
    if kind in ("AndExpression", "OrExpression", "ImpliesExpression"):
        return _logic(node)
    raise _Unsupported(kind)


def _string_literal(text: str) -> str:
    if len(text) < 2 or text[0] != "'" or text[-1] != "'" or "\\" in text:
        raise _Unsupported("string literal with escapes")
    return text[1:-1]


def _identifier(node: dict[str, Any]) -> str:
    identifier = node if node.get("type") == "Identifier" else _only(node)
    name = identifier.get("text") or ""
    if not name.isidentifier():
        raise _Unsupported(f"identifier {name!r}")
    return name


def _external(node: dict[str, Any]) -> tuple[Fn, str]:
    name = _identifier(_only(_only(node)))  # ExternalConstantTerm > ExternalConstant > Identifier
    if name != "context":
        raise _Unsupported(f"%{name}")
    return (lambda focus, env: [env["context"]]), ANY


def _invocation(node: dict[str, Any]) -> tuple[Fn, str]:
    kind = node.get("type")
    if kind == "InvocationTerm":
        return _invocation(_only(node))
    if kind == "ThisInvocation":
        return (lambda focus, env: [env["this"]] if "this" in env else _no_this()), ANY
    if kind == "MemberInvocation":
        return _member_step(_identifier(_only(node))), ANY
    if kind == "FunctionInvocation":
        return _function(_only(node))
    raise _Unsupported(kind)


def _no_this() -> list[Any]:
    raise _Unsupported("$this outside where/all")


# -- navigation ------------------------------------------------------------------------------------------


def _member_step(name: str) -> Fn:
    """``name`` on the focus: one object holding ``name`` itself (the usual case) read directly, anything
    else (several items, a choice, a primitive extension) by ``_member``."""
    extension_name = "_" + name
    stem = len(name)

    def member(focus: list[Any], env: Env) -> list[Any]:
        if len(focus) == 1 and type(focus[0]) is dict:
            item = focus[0]
            key = name
            if name not in item:
                if name != "value":
                    return _member(focus, name)
                # Extension.value[x], the one choice read here: its JSON name, when there is exactly one
                key = ""
                for candidate in item:
                    if candidate.startswith(name) and candidate[stem : stem + 1].isupper():
                        if key:
                            return _member(focus, name)  # two of them: not modelled
                        key = candidate
                if not key:
                    return []
                if "_" + key in item:
                    return _member(focus, name)
            elif extension_name in item:
                return _member(focus, name)
            value = item[key]
            if type(value) is list:
                return [element for element in value if element is not None] if None in value else value
            return [] if value is None else [value]
        return _member(focus, name)

    return member


def _member(focus: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    for item in focus:
        if not isinstance(item, dict):
            raise _Unsupported("member of a primitive")
        key = name
        if name not in item:
            # A choice element (value[x], deceased[x], ...): JSON names it with its type; FHIRPath by its
            # stem. Only Extension.value (and the like) is read here; any other stem is fhirpathpy's.
            choices = [k for k in item if k.startswith(name) and k[len(name) : len(name) + 1].isupper()]
            if not choices:
                continue
            if name != "value" or len(choices) > 1:
                raise _Unsupported(f"choice element {name}[x]")
            key = choices[0]
        if "_" + key in item:
            raise _Unsupported("primitive extension")
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            if None in value:
                out.extend(element for element in value if element is not None)
            else:
                out.extend(value)
        else:
            out.append(value)
    return out


def _primitive(value: Any) -> Any:
    """A value FHIRPath compares as this module does: str, bool or int (not a decimal, not a complex)."""
    if isinstance(value, (str, bool, int)) and not isinstance(value, float):
        return value
    raise _Unsupported("not a string, boolean or integer")


def _single(values: list[Any]) -> Any:
    if len(values) != 1:
        raise _Unsupported("not a single item")
    return values[0]


def _truth(values: list[Any]) -> bool | None:
    """A collection read as a Boolean: empty is unknown (None); one Boolean is itself."""
    if not values:
        return None
    value = _single(values)
    if not isinstance(value, bool):
        raise _Unsupported("not a Boolean")
    return value


# -- functions -------------------------------------------------------------------------------------------


def _function(node: dict[str, Any]) -> tuple[Fn, str]:
    children = _children(node)
    name = _identifier(children[0])
    params = [_compile(param) for param in (_children(children[1]) if len(children) > 1 else [])]
    if name in ("where", "all"):
        if len(params) != 1:
            raise _Unsupported(name)
        criterion = params[0][0]
        direct = _predicate(_children(children[1])[0])

        def test(item: Any, env: Env) -> bool:
            if direct is not None:
                answer = direct(item)
                if answer is not _GENERAL:
                    return answer is True
            outer = env.get("this", _NO_THIS)
            env["this"] = item  # env is this evaluation's own dict: set for the criterion, then restored
            try:
                return _truth(criterion([item], env)) is True
            finally:
                if outer is _NO_THIS:
                    del env["this"]
                else:
                    env["this"] = outer

        equality = getattr(direct, "member_literal", None)
        if name == "where" and equality is not None:
            member, literal, extension_name = equality
            criterion_test = test

            def where_equal(focus: list[Any], env: Env) -> list[Any]:
                """``where(url = 'text')``: ``equals`` inlined (the same plain case; the rest as before)."""
                out = []
                for item in focus:
                    if type(item) is dict:
                        value = item.get(member)
                        if type(value) is str and extension_name not in item and not value[:1].isdigit():
                            if value == literal:
                                out.append(item)
                            continue
                    if criterion_test(item, env):
                        out.append(item)
                return out

            return where_equal, ANY
        if name == "where" and direct is not None:
            criterion_test = test

            def where_direct(focus: list[Any], env: Env) -> list[Any]:
                """The criterion read straight from each item; the general closure only for the rest."""
                out = []
                for item in focus:
                    answer = direct(item)
                    if answer is True or (answer is _GENERAL and criterion_test(item, env)):
                        out.append(item)
                return out

            return where_direct, ANY
        if name == "where":
            return (lambda focus, env: [item for item in focus if test(item, env)]), ANY
        return (lambda focus, env: [all(test(item, env) for item in focus)]), BOOLEAN
    if name == "ofType":
        if len(children) < 2 or len(_children(children[1])) != 1:
            raise _Unsupported("ofType")
        type_name = _type_name(_children(children[1])[0])
        return (lambda focus, env: _of_type(focus, type_name)), ANY
    if name == "iif":
        if len(params) != 3:
            raise _Unsupported("iif without else")
        (condition, _), (then, then_kind), (otherwise, else_kind) = params
        kind = then_kind if then_kind == else_kind else ANY
        return (
            lambda focus, env: then(focus, env)
            if _truth(condition(focus, env)) is True
            else otherwise(focus, env)
        ), kind
    if name in ("startsWith", "matches"):
        return _string_test(name, params)
    if params and name != "substring":
        raise _Unsupported(f"{name} with parameters")
    simple: dict[str, tuple[Callable[[list[Any]], list[Any]], str]] = {
        "exists": (lambda values: [bool(values)], BOOLEAN),
        "empty": (lambda values: [not values], BOOLEAN),
        "count": (lambda values: [len(values)], INTEGER),
        "isDistinct": (_is_distinct, BOOLEAN),
        "not": (_not, BOOLEAN),
        "toString": (_to_string, STRING),
    }
    if name in simple:
        apply, kind = simple[name]
        return (lambda focus, env: apply(focus)), kind
    if name == "substring":
        return _substring(params)
    raise _Unsupported(name)


_GENERAL = object()
"""A direct predicate's answer when the item is not the plain case: the general closure decides."""
Predicate = Callable[[Any], Any]


def _unwrap(node: dict[str, Any]) -> dict[str, Any]:
    while node.get("type") in ("TermExpression", "ParenthesizedTerm") and len(_children(node)) == 1:
        node = _children(node)[0]
    return node


def _predicate(node: dict[str, Any]) -> Predicate | None:
    """A where()/all() criterion made of ``member = 'text'`` tests joined by and/or, read straight from the
    item (True, False, None for empty), or None when the criterion is anything else. On an item that is not
    the plain case (not an object, a missing or non-text member, a primitive extension) it answers
    ``_GENERAL`` and the general closure evaluates the criterion."""
    node = _unwrap(node)
    kind = node.get("type")
    if kind == "EqualityExpression":
        left, right = _children(node)
        member, literal = _member_name(left), _literal_text(right)
        operator = _operator(node)
        if member is None or literal is None or literal[:1].isdigit() or operator not in ("=", "!="):
            return None
        positive = operator == "="

        def equals(item: Any) -> Any:
            if not isinstance(item, dict):
                return _GENERAL
            value = item.get(member)
            if not isinstance(value, str) or value[:1].isdigit() or "_" + member in item:
                return _GENERAL
            return (value == literal) == positive

        if positive:
            equals.member_literal = (member, literal, "_" + member)  # type: ignore[attr-defined]
        return equals
    if kind in ("AndExpression", "OrExpression"):
        operator = _operator(node)
        member_in = _member_in(node) if operator == "or" else None
        if member_in is not None:
            return member_in
        parts = [_predicate(child) for child in _children(node)]
        if operator not in ("and", "or") or any(part is None for part in parts):
            return None
        first, second = parts
        combine = _and if operator == "and" else _or

        def joined(item: Any) -> Any:
            a = first(item)  # type: ignore[misc]
            if a is _GENERAL:
                return _GENERAL
            b = second(item)  # type: ignore[misc]
            return _GENERAL if b is _GENERAL else combine(a, b)

        return joined
    return None


def _or_leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The operands of a chain of ``or`` (``a or (b or c) or d``: a, b, c, d)."""
    node = _unwrap(node)
    if node.get("type") == "OrExpression" and node.get("terminalNodeText") == ["or"]:
        return [leaf for child in _children(node) for leaf in _or_leaves(child)]
    return [node]


def _member_in(node: dict[str, Any]) -> Predicate | None:
    """``code = 'a' or code = 'b' or ...`` (one member, text literals) folded at compile time into one
    frozenset look-up: the same answer as the chain of ``equals`` joined by ``_or`` (every leaf reads the
    same member, so they are all the plain case or all ``_GENERAL``), one test, not one per code."""
    leaves = _or_leaves(node)
    if len(leaves) < 2:
        return None
    members, literals = set(), set()
    for leaf in leaves:
        if leaf.get("type") != "EqualityExpression" or leaf.get("terminalNodeText") != ["="]:
            return None
        left, right = _children(leaf)
        member, literal = _member_name(left), _literal_text(right)
        if member is None or literal is None or literal[:1].isdigit():
            return None
        members.add(member)
        literals.add(literal)
    if len(members) != 1:
        return None
    (member,) = members
    codes = frozenset(literals)

    def member_in(item: Any) -> Any:
        if not isinstance(item, dict):
            return _GENERAL
        value = item.get(member)
        if not isinstance(value, str) or value[:1].isdigit() or "_" + member in item:
            return _GENERAL
        return value in codes

    return member_in


def _type_name(node: dict[str, Any]) -> str:
    """``ofType(X)``'s X: a plain resource type name (an upper-case identifier, no namespace)."""
    text = node.get("text") or ""
    if not text.isidentifier() or not text[:1].isupper():
        raise _Unsupported(f"ofType({text})")
    return text


def _of_type(focus: list[Any], type_name: str) -> list[Any]:
    out = []
    for item in focus:
        if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
            raise _Unsupported("ofType on something that is not a resource")
        if item["resourceType"] == type_name:
            out.append(item)
    return out


def _is_distinct(values: list[Any]) -> list[Any]:
    items = [_primitive(value) for value in values]
    if len({type(item) for item in items}) > 1:
        raise _Unsupported("mixed types")
    return [len(set(items)) == len(items)]


def _not(values: list[Any]) -> list[Any]:
    truth = _truth(values)
    return [] if truth is None else [not truth]


def _to_string(values: list[Any]) -> list[Any]:
    if not values:
        return []
    value = _primitive(_single(values))
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def _string_test(name: str, params: list[tuple[Fn, str]]) -> tuple[Fn, str]:
    """``startsWith(prefix)`` and ``matches(regex)`` on one string, as fhirpathpy answers them (``matches``
    searches anywhere, dot matching newlines); an empty or non-string input is left to fhirpathpy."""
    if len(params) != 1 or params[0][1] != STRING:
        raise _Unsupported(f"{name}'s argument")
    argument = params[0][0]
    compiled: dict[str, re.Pattern[str]] = {}  # the pattern is nearly always a literal: compiled once

    def string_test(focus: list[Any], env: Env) -> list[Any]:
        value = argument(focus, env)
        if not value:
            return []
        pattern = _single(value)
        if name == "matches" and (not pattern or not focus):
            return []
        text = _primitive(_single(focus))
        if not isinstance(text, str) or not text or not isinstance(pattern, str):
            raise _Unsupported(f"{name} of an empty or non-string value")
        if name == "startsWith":
            return [text.startswith(pattern)]
        regex = compiled.get(pattern)
        if regex is None:
            regex = re.compile(pattern, re.DOTALL)
            if len(compiled) < 64:
                compiled[pattern] = regex
        return [regex.search(text) is not None]

    return string_test, BOOLEAN


def _substring(params: list[tuple[Fn, str]]) -> tuple[Fn, str]:
    if not 1 <= len(params) <= 2 or any(kind != INTEGER for _fn, kind in params):
        raise _Unsupported("substring's arguments")

    def substring(focus: list[Any], env: Env) -> list[Any]:
        if not focus:
            return []
        text = _single(focus)
        if not isinstance(text, str):
            raise _Unsupported("substring of a non-string")
        start = _single(params[0][0](focus, env))
        if start < 0 or start >= len(text):
            return []
        if len(params) == 1:
            return [text[start:]]
        length = _single(params[1][0](focus, env))
        return [text[start : start + max(length, 0)]]

    return substring, STRING


# -- operators -------------------------------------------------------------------------------------------


def _operator(node: dict[str, Any]) -> str:
    terminals = node.get("terminalNodeText") or []
    if len(terminals) != 1:
        raise _Unsupported("operator")
    return terminals[0]


def _equality(node: dict[str, Any]) -> tuple[Fn, str]:
    operator = _operator(node)
    if operator not in ("=", "!="):
        raise _Unsupported(operator)
    left_node, right_node = _children(node)
    (left, left_kind), (right, right_kind) = _compile(left_node), _compile(right_node)
    texts = left_kind == STRING and right_kind == STRING
    member, literal = _member_name(left_node), _literal_text(right_node)
    positive = operator == "="

    def member_equals_literal(focus: list[Any], env: Env) -> list[Any]:
        """``name = 'text'`` on one object (``url = '...'`` in a where()): the hot case, read directly."""
        if len(focus) == 1 and isinstance(focus[0], dict) and member is not None:
            value = focus[0].get(member)
            if isinstance(value, str) and not value[:1].isdigit() and "_" + member not in focus[0]:
                return [(value == literal) == positive]
        return equal(focus, env)

    def equal(focus: list[Any], env: Env) -> list[Any]:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        x, y = _primitive(_single(a)), _primitive(_single(b))
        if type(x) is not type(y):
            raise _Unsupported("different types")
        if isinstance(x, str) and not texts and (x[:1].isdigit() or y[:1].isdigit()):
            raise _Unsupported("may be a date or time")
        return [(x == y) == positive]

    if member is not None and literal is not None and not literal[:1].isdigit():
        return member_equals_literal, BOOLEAN
    return equal, BOOLEAN


def _member_name(node: dict[str, Any]) -> str | None:
    """``name`` when the node is a bare member of the focus (TermExpression > InvocationTerm > Member)."""
    while node.get("type") in ("TermExpression", "InvocationTerm") and len(_children(node)) == 1:
        node = _children(node)[0]
    if node.get("type") != "MemberInvocation":
        return None
    try:
        return _identifier(_only(node))
    except _Unsupported:
        return None


def _literal_text(node: dict[str, Any]) -> str | None:
    """The text of a string literal node, else None."""
    while node.get("type") in ("TermExpression", "LiteralTerm") and len(_children(node)) == 1:
        node = _children(node)[0]
    if node.get("type") != "StringLiteral":
        return None
    try:
        return _string_literal(node["text"])
    except _Unsupported:
        return None


def _ordering(node: dict[str, Any]) -> tuple[Fn, str]:
    operator = _operator(node)
    (left, left_kind), (right, right_kind) = (_compile(child) for child in _children(node))
    plain = left_kind == right_kind and left_kind in (STRING, INTEGER)
    if not plain or operator not in (">", "<", ">=", "<="):
        raise _Unsupported("ordering of values that are not plain strings or integers")
    compare = {
        ">": lambda x, y: x > y,
        "<": lambda x, y: x < y,
        ">=": lambda x, y: x >= y,
        "<=": lambda x, y: x <= y,
    }[operator]

    def ordered(focus: list[Any], env: Env) -> list[Any]:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        return [compare(_single(a), _single(b))]

    return ordered, BOOLEAN


def _logic(node: dict[str, Any]) -> tuple[Fn, str]:
    operator = _operator(node)
    (left, _), (right, _) = (_compile(child) for child in _children(node))
    table: dict[str, Callable[[bool | None, bool | None], bool | None]] = {
        "and": _and,
        "or": _or,
        "implies": _implies,
    }
    if operator not in table:
        raise _Unsupported(operator)
    combine = table[operator]
    if operator == "implies" and _never_fails(_children(node)[1]):

        def implies(focus: list[Any], env: Env) -> list[Any]:
            antecedent = _truth(left(focus, env))
            if antecedent is False:
                return [True]  # whatever the consequent gives: it cannot make fhirpathpy fail either
            result = _implies(antecedent, _truth(right(focus, env)))
            return [] if result is None else [result]

        return implies, BOOLEAN

    def logic(focus: list[Any], env: Env) -> list[Any]:
        result = combine(_truth(left(focus, env)), _truth(right(focus, env)))
        return [] if result is None else [result]

    return logic, BOOLEAN


#: parse-tree nodes that make no choice of their own (a member, a literal, grouping)
_PLAIN_NODES = frozenset(
    {"TermExpression", "InvocationTerm", "MemberInvocation", "Identifier", "LiteralTerm", "StringLiteral",
     "NumberLiteral", "ParenthesizedTerm", "InvocationExpression"}
)
#: functions that take any collection and give one value (or filter it) without an evaluation error
_TOTAL_FUNCTIONS = frozenset({"exists", "empty", "count", "where", "ofType"})


def _never_fails(node: dict[str, Any]) -> bool:
    """Whether fhirpathpy evaluates this sub-expression on any JSON without an error: member paths,
    ``where`` over ``=`` tests joined by ``and``/``or``, ``ofType``, ``exists()``, ``empty()``,
    ``count() = n``. Then ``false implies X`` is true whatever X is, and the native form need not evaluate
    X (which could only turn a True into "not modelled here, ask fhirpathpy", and fhirpathpy says true)."""
    kind = node.get("type")
    children = _children(node)
    if kind == "EqualityExpression":
        return node.get("terminalNodeText") == ["="] and all(_operand(child) for child in children)
    if kind in ("AndExpression", "OrExpression"):
        return all(_condition(child) for child in children)
    if kind == "FunctionInvocation":
        functn = children[0] if children else {}
        parts = _children(functn)
        name = parts[0].get("text") if parts else None
        if name not in _TOTAL_FUNCTIONS:
            return False
        params = _children(parts[1]) if len(parts) > 1 else []
        if name == "ofType":
            return len(params) == 1
        if name == "where":
            return len(params) == 1 and _condition(params[0])
        return not params
    if kind is None or kind in _PLAIN_NODES:
        return all(_never_fails(child) for child in children)
    return False


def _condition(node: dict[str, Any]) -> bool:
    """An operand of ``and``/``or`` or a ``where`` criterion: an ``=`` test or such tests joined (a bare
    member would be read as a Boolean, which can fail)."""
    while node.get("type") in ("TermExpression", "ParenthesizedTerm") and len(_children(node)) == 1:
        node = _children(node)[0]
    if node.get("type") in ("EqualityExpression", "AndExpression", "OrExpression"):
        return _never_fails(node)
    return False


def _operand(node: dict[str, Any]) -> bool:
    """An operand of ``=``: a member path, a literal or ``count()``: never an error."""
    return _never_fails(node)


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return True if a is True and b is True else None


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return False if a is False and b is False else None


def _implies(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is True:
        return True
    if a is True and b is False:
        return False
    return None
