"""Comparing a Quantity (or Duration, Age, Distance, Count) with a profile's min/maxValueQuantity.

Two quantities compare directly when they have the same unit code and system. UCUM quantities in different
units (``g`` against a bound in ``kg``, ``min`` against ``h``) are converted with ucumvert, the maintained
UCUM parser on PyPI (it builds on pint); it is imported only when a conversion is needed, because building its
unit registry takes a second or two. Anything that cannot be compared (no coded unit, another unit system,
units of different dimensions, ucumvert not installed) is reported as "could not be checked", never passed
in silence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

UCUM = "http://unitsofmeasure.org"
#: the data types that are Quantity with constraints (datatypes.html#Quantity)
QUANTITY_TYPES = frozenset(
    {"Quantity", "SimpleQuantity", "Duration", "Age", "Distance", "Count", "MoneyQuantity"}
)

_REGISTRY: Any = None
_REGISTRY_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Comparison:
    """``order`` -1/0/1 (value below/equal/above the bound), or None with ``why`` it could not be compared."""

    order: int | None
    why: str = ""


def _unit(quantity: dict[str, Any]) -> tuple[str | None, str | None]:
    system, code = quantity.get("system"), quantity.get("code")
    return (system if isinstance(system, str) else None, code if isinstance(code, str) else None)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def compare_quantities(quantity: dict[str, Any], bound: dict[str, Any]) -> Comparison:
    """How ``quantity`` compares with ``bound`` (both FHIR Quantity JSON objects)."""
    value, limit = _number(quantity.get("value")), _number(bound.get("value"))
    if value is None or limit is None:
        return Comparison(None, "it has no value" if value is None else "the bound has no value")
    system, code = _unit(quantity)
    bound_system, bound_code = _unit(bound)
    if bound_code is None and bound_system is None:
        return Comparison(_order(value, limit))  # a bound without a unit: a bare number
    if code is None:
        return Comparison(None, f"it has no coded unit to compare with {_show(bound)}")
    if (system, code) == (bound_system, bound_code):
        return Comparison(_order(value, limit))
    if system != UCUM or bound_system != UCUM:
        why = f"its unit {system}|{code} cannot be converted to {bound_system}|{bound_code}"
        return Comparison(None, why)
    converted = _convert(value, code, bound_code)  # type: ignore[arg-type]
    if isinstance(converted, str):
        return Comparison(None, converted)
    return Comparison(_order(converted, limit))


def _order(a: Decimal, b: Decimal) -> int:
    return (a > b) - (a < b)


def _show(quantity: dict[str, Any]) -> str:
    unit = quantity.get("code") or quantity.get("unit") or ""
    return f"{quantity.get('value')} {unit}".strip()


def _registry() -> Any:
    """ucumvert's UCUM unit registry, built once (or None when ucumvert is not installed)."""
    global _REGISTRY
    if _REGISTRY is None:
        with _REGISTRY_LOCK:
            if _REGISTRY is None:
                try:
                    from ucumvert import PintUcumRegistry
                except ImportError:
                    _REGISTRY = False
                else:
                    _REGISTRY = PintUcumRegistry()
    return _REGISTRY or None


def _convert(value: Decimal, code: str, target: str) -> Decimal | str:
    """``value`` in UCUM unit ``code`` expressed in ``target``, or why that is not possible."""
    registry = _registry()
    if registry is None:
        return f"converting {code} to {target} needs the UCUM library ucumvert, which is not installed"
    try:
        source_unit, target_unit = registry.from_ucum(code), registry.from_ucum(target)
        converted = registry.Quantity(float(value), source_unit.units).to(target_unit.units)
        # a UCUM code may carry a factor (``10*3/uL``): from_ucum gives it as the magnitude
        magnitude = converted.magnitude * float(source_unit.magnitude) / float(target_unit.magnitude)
    except Exception as exc:  # noqa: BLE001 - ucumvert/pint raise many types for bad or incompatible units
        return f"its unit {code!r} cannot be converted to {target!r} ({type(exc).__name__})"
    return Decimal(f"{magnitude:.12g}")  # conversion factors are exact to far fewer digits than a float has
