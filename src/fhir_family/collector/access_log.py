"""The collector's gunicorn access log with anything shaped like an NHS number masked in the request line:
a provider reads ``GET /Bundle/{submission id}`` by the id it sent, which may hold a number that is stored
only pseudonymised (``pseudonym.Pseudonymiser.pseudonymise_text``), so the log must not keep it raw either."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .pseudonym import redact_numbers

_REQUEST_ATOMS = ("U", "r", "q", "f", "{raw_uri}e")


class RedactingAccessLogger(Logger):
    """gunicorn's logger, with the path, request line, query and referrer of each access line redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _REQUEST_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_numbers(atoms[key])
        return atoms
