"""The analytics package's errors, rooted in the project's own so the CLI reports them in one line."""

from __future__ import annotations

from ..errors import FhirFamilyError, InputError


class ViewDefinitionError(FhirFamilyError, ValueError):
    """A ViewDefinition is malformed, or running it hit something the specification calls an error (a column
    that is not a collection got several values, a ``where`` path that is not boolean ...)."""

    http_status = 422


class ExportReadError(InputError):
    """A Bulk Data export folder could not be read (missing manifest, a line that is not JSON ...)."""
