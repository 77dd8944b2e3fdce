"""What every caller needs of a validator, and the one way to get the process-wide one lazily.

The facade, the CLI, the collector and the pages all validate through ``Validator.issues`` (typed ``Issue``s,
rendered to an OperationOutcome once, at the edge) and hold their validator in a ``LazyValidator``: loading
R4 core and the guide takes seconds, so it happens on first use, not at import or app creation. No Flask, no
SQLAlchemy here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from .outcome import Issue, IssueSeverity


@runtime_checkable
class Validator(Protocol):
    """A profile validator: ``fhir_family.conformance.Validator`` or a test double."""

    def issues(self, resource: Any, profile: str | None = None) -> list[Issue]:
        """Every problem in ``resource`` (a Bundle or one resource), judged against ``profile`` if given."""
        ...


def any_errors(issues: Iterable[Issue]) -> bool:
    """True when any issue is an error or fatal: the input must not be used (forwarded, stored)."""
    return any(issue.severity in (IssueSeverity.ERROR, IssueSeverity.FATAL) for issue in issues)


ValidatorSource = Validator | Callable[[], Validator] | None
"""A validator, a function that makes one on first use, or None for ``conformance.default_validator()``."""


def _default() -> Validator:
    from .conformance import default_validator  # loaded lazily: it reads the whole core package once

    return default_validator()


class LazyValidator:
    """Holds a validator source and makes the validator on first use, once, even under concurrent requests."""

    def __init__(self, source: ValidatorSource = None) -> None:
        self._source = source
        self._validator: Validator | None = source if isinstance(source, Validator) else None
        self._lock = threading.Lock()

    def get(self) -> Validator:
        """The validator, made now if it was not yet."""
        if self._validator is None:
            with self._lock:
                if self._validator is None:
                    factory = self._source or _default
                    self._validator = factory()  # type: ignore[operator]
        return self._validator

    def issues(self, resource: Any, profile: str | None = None) -> list[Issue]:
        return self.get().issues(resource, profile)
