"""The collector as a service object: the one path every submission takes, whether it arrives by HTTP,
by ``$import`` or from a test. Check the caller, validate, read the facts, pseudonymise, store; audit
always."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine

from ..errors import FhirFamilyError, ForbiddenError, InputError, NonConformantError
from ..model import NATIONAL_RETURN_BUNDLE
from ..outcome import Issue, IssueSeverity, IssueType, has_errors
from . import audit, facts
from .database import make_engine, migrate, session_factory
from .pseudonym import Pseudonymiser
from .settings import CollectorSettings
from .store import IngestResult, SubmissionStore
from .tokens import PROVIDER, Principal

log = logging.getLogger(__name__)

NATIONAL_RETURN_PROFILE = NATIONAL_RETURN_BUNDLE
MAX_SUBMISSION_ID = 200


class Validator(Protocol):
    def validate(self, resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]: ...


class RejectedBundleError(NonConformantError):
    """The validator found errors: the answer is the validator's own OperationOutcome, untouched."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        errors = [i for i in outcome.get("issue", []) if i.get("severity") in ("error", "fatal")]
        super().__init__(f"The bundle is not a conformant national return ({len(errors)} error(s))")
        self._outcome = outcome

    @property
    def outcome(self) -> dict[str, Any]:
        return self._outcome


def _default_validator() -> Validator:
    from ..conformance import default_validator  # loaded lazily: it reads the whole core package once

    return default_validator()


def forbidden(message: str, expression: str | None = None) -> ForbiddenError:
    return ForbiddenError(
        message,
        [Issue(IssueSeverity.ERROR, IssueType.FORBIDDEN, message, expression, "FF-COLLECTOR-FORBIDDEN")],
    )


class Collector:
    """Owns the engine, the store and the validator; built once per process (per app)."""

    def __init__(
        self,
        settings: CollectorSettings,
        validator: Validator | Callable[[], Validator] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        if settings.migrate:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.pseudonymiser = Pseudonymiser(settings.pseudonym_key)
        self.store = SubmissionStore(self.engine, self.pseudonymiser)
        self._validator_source = validator
        self._validator: Validator | None = None

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            source = self._validator_source
            if source is None:
                self._validator = _default_validator()
            elif hasattr(source, "validate"):
                self._validator = source  # type: ignore[assignment]
            else:
                self._validator = source()  # type: ignore[operator]
        return self._validator

    def audit(
        self,
        principal: Principal | str | None,
        action: str,
        target: str | None,
        outcome: int,
        detail: str | None = None,
    ) -> None:
        audit.record(self.sessions, principal, action, target, outcome, detail)

    def submit(self, bundle: Any, principal: Principal) -> IngestResult:
        """Ingest one national return for ``principal``; every refusal is audited and raised."""
        target = None
        try:
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                raise InputError(
                    "Expected a FHIR Bundle (a JSON object with resourceType 'Bundle')",
                    [
                        Issue(
                            IssueSeverity.ERROR,
                            IssueType.STRUCTURE,
                            "Expected a FHIR Bundle resource",
                            "Bundle",
                            "FF-COLLECTOR-NOT-BUNDLE",
                        )
                    ],
                )
            identifier = bundle.get("identifier")
            target = identifier.get("value") if isinstance(identifier, dict) else None
            if principal.role != PROVIDER:
                raise forbidden(f"A {principal.role} token cannot submit returns; use a provider token")
            ods = facts.reporting_ods(bundle)
            if ods is not None and ods != principal.ods_code:
                raise forbidden(
                    f"This token submits for ODS {principal.ods_code}; "
                    f"the bundle's ReportingProvider is {ods}",
                    "Bundle.entry.resource.ofType(Organization).identifier",
                )
            if isinstance(target, str) and len(target) > MAX_SUBMISSION_ID:
                raise NonConformantError(
                    "Submission id too long",
                    [
                        Issue(
                            IssueSeverity.ERROR,
                            IssueType.TOO_LONG,
                            f"The submission id is longer than {MAX_SUBMISSION_ID} characters",
                            "Bundle.identifier.value",
                            "FF-COLLECTOR-ID-LENGTH",
                        )
                    ],
                )
            outcome = self.validator.validate(bundle, NATIONAL_RETURN_PROFILE)
            if has_errors(outcome):
                raise RejectedBundleError(outcome)
            return_facts = facts.extract(bundle)
            if return_facts.ods_code != principal.ods_code:  # ODS found only after validation
                raise forbidden(f"This token submits for ODS {principal.ods_code} only")
            return self.store.ingest(bundle, return_facts, principal)
        except FhirFamilyError as exc:
            self.audit(
                principal, "submit", target if isinstance(target, str) else None, exc.http_status, str(exc)
            )
            raise
