"""The collector as a service object: the one path every submission takes, whether it arrives by HTTP,
by ``$import`` or from a test. Check the caller, validate, read the facts, pseudonymise, store; audit
always."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from fhir_family import messages as msg

from ..errors import FhirFamilyError, ForbiddenError, InputError, NonConformantError
from ..model import NATIONAL_RETURN_BUNDLE
from ..outcome import Issue, IssueSeverity, IssueType
from ..validation import LazyValidator, Validator, ValidatorSource, any_errors
from . import audit, facts
from .database import make_engine, migrate, session_factory
from .keychain import load_earlier_keys
from .keys import check_fingerprint
from .pseudonym import Pseudonymiser
from .settings import CollectorSettings
from .store import IngestResult, PreparedReturn, SubmissionStore, prepare_return
from .tokens import PROVIDER, Principal

log = logging.getLogger(__name__)

MAX_SUBMISSION_ID = 200


class RejectedBundleError(NonConformantError):
    """The validator found errors: the answer is every issue the validator found, untouched."""

    def __init__(self, issues: list[Issue]) -> None:
        errors = sum(1 for issue in issues if any_errors([issue]))
        super().__init__(f"The bundle is not a conformant national return ({errors} error(s))", issues)


def forbidden(message: str, expression: str | None = None) -> ForbiddenError:
    return ForbiddenError(
        message,
        [
            Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.FORBIDDEN,
                diagnostics=message,
                expression=expression,
                message_id=msg.COLLECTOR_FORBIDDEN,
            )
        ],
    )


class Collector:
    """Owns the engine, the store and the validator; built once per process (per app)."""

    def __init__(
        self,
        settings: CollectorSettings,
        validator: ValidatorSource = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        if settings.migrate:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        check_fingerprint(self.sessions, settings.pseudonym_key)
        earlier = load_earlier_keys(self.sessions, settings.pseudonym_key)  # after a re-keying (rekey.py)
        self.pseudonymiser = Pseudonymiser(settings.pseudonym_key, earlier)
        self.store = SubmissionStore(self.engine, self.pseudonymiser)
        self._validator = LazyValidator(validator)

    @property
    def validator(self) -> Validator:
        """The validator, loaded on first use (the whole core package is read once)."""
        return self._validator.get()

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
        prepared = self.prepare(bundle, principal)
        try:
            return self.store.store_prepared(prepared, principal)
        except FhirFamilyError as exc:
            self.audit(principal, "submit", prepared.facts.submission_id, exc.http_status, str(exc))
            raise

    def prepare(self, bundle: Any, principal: Principal) -> PreparedReturn:
        """Everything before the database: check the caller, validate, read the facts, pseudonymise. The
        CPU-bound half of a submission, shared by ``submit`` and the batched ``$import``; every refusal is
        audited and raised."""
        try:
            return self.check(bundle, principal)
        except FhirFamilyError as exc:
            self.audit(principal, "submit", submission_target(bundle), exc.http_status, str(exc))
            raise

    def check(self, bundle: Any, principal: Principal) -> PreparedReturn:
        """``prepare`` without the audit (pure CPU, no database): what an ``$import`` worker process runs;
        its caller audits the refusals it raises."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InputError(
                "Expected a FHIR Bundle (a JSON object with resourceType 'Bundle')",
                [
                    Issue(
                        severity=IssueSeverity.ERROR,
                        code=IssueType.STRUCTURE,
                        diagnostics="Expected a FHIR Bundle resource",
                        expression="Bundle",
                        message_id=msg.COLLECTOR_NOT_BUNDLE,
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
        # Measured as stored: a valid NHS number inside the id becomes its 64-character pseudonym.
        stored_id = self.pseudonymiser.pseudonymise_text(target) if isinstance(target, str) else None
        if stored_id is not None and len(stored_id) > MAX_SUBMISSION_ID:
            raise NonConformantError(
                "Submission id too long",
                [
                    Issue(
                        severity=IssueSeverity.ERROR,
                        code=IssueType.TOO_LONG,
                        diagnostics=(
                            f"The submission id is longer than {MAX_SUBMISSION_ID} characters (an NHS "
                            "number in it counts as its 64-character pseudonym)"
                        ),
                        expression="Bundle.identifier.value",
                        message_id=msg.COLLECTOR_ID_LENGTH,
                    )
                ],
            )
        issues = self.validator.issues(bundle, NATIONAL_RETURN_BUNDLE)
        if any_errors(issues):
            raise RejectedBundleError(issues)
        return_facts = facts.extract(bundle)
        if return_facts.ods_code != principal.ods_code:  # ODS found only after validation
            raise forbidden(f"This token submits for ODS {principal.ods_code} only")
        return prepare_return(bundle, return_facts, self.pseudonymiser)


def submission_target(bundle: Any) -> str | None:
    """The submission id a bundle claims (``Bundle.identifier.value``), for the audit row of a refusal."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    identifier = bundle.get("identifier")
    target = identifier.get("value") if isinstance(identifier, dict) else None
    return target if isinstance(target, str) else None
