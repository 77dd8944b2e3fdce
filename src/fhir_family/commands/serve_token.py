"""``fhir-family serve-token``: issue, list and revoke the facade's EHR-feed bearer tokens.

Tokens live in a JSON file (``--file``, default ``$FHIR_FAMILY_FEED_TOKENS``) holding only their SHA-256;
``serve --feed-tokens`` names the same file. A token is printed once, by ``issue`` or ``rotate``; issuing
again for the same feed replaces its token at once, ``rotate`` keeps the old one for a grace period.
``--expires-in`` gives a token an expiry. The facade re-reads the file when it changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from ..errors import FhirFamilyError
from ..expiry import parse_duration, parse_expiry
from ..facade.feed_tokens import (
    ENV_FILE,
    issue_feed_token,
    read_entries,
    read_last_use,
    revoke_feed,
    rotate_feed_token,
)
from .exits import fail

_EXPIRES = click.option(
    "--expires-in", default=None,
    help="Refuse the token after this: a duration (90d, 12h, 2w) or a date (2027-03-01). Default: never.",
)
_FILE = click.option("--file", "path", envvar=ENV_FILE, required=True, type=click.Path(path_type=Path),
                     help=f"The facade's feed-token file (default ${ENV_FILE}).")


def _fail(message: str) -> NoReturn:
    fail("serve-token", message)


@click.group("serve-token")
def command() -> None:
    """Issue, list and revoke the facade's EHR-feed bearer tokens."""


@command.command("issue")
@click.option("--feed", required=True, help="The EHR feed's name (letters, digits, '.', '_', '-').")
@click.option("--ods", "ods_codes", required=True, multiple=True, help="An ODS code it submits for (repeat).")
@_EXPIRES
@_FILE
def issue(feed: str, ods_codes: tuple[str, ...], expires_in: str | None, path: Path) -> None:
    """Issue (or replace at once) a feed's token and print it: it is shown only this once."""
    try:
        expires_at = parse_expiry(expires_in) if expires_in else None
        token = issue_feed_token(path, feed, list(ods_codes), expires_at)
    except FhirFamilyError as exc:
        _fail(str(exc))
    click.echo(token)


@command.command("rotate")
@click.option("--feed", required=True)
@click.option("--grace", default="1d", show_default=True,
              help="How long the old token keeps working (30m, 12h, 2d; 0 refuses it at once).")
@_EXPIRES
@_FILE
def rotate(feed: str, grace: str, expires_in: str | None, path: Path) -> None:
    """Give a feed a new token and print it (shown only this once); the old one keeps working for the grace
    period, so the EHR can switch without a refused send."""
    try:
        period = parse_duration(grace)
        expires_at = parse_expiry(expires_in) if expires_in else None
        token = rotate_feed_token(path, feed, period, expires_at)
    except FhirFamilyError as exc:
        _fail(str(exc))
    old = "refused now" if not period else f"valid for {grace} more"
    click.echo(f"feed {feed}: new token (the old one {old})", err=True)
    click.echo(token)


def _state(expires: str | None, now: datetime) -> str:
    if expires is None:
        return "active"
    moment = datetime.fromisoformat(expires)
    return f"{'expired' if moment <= now else 'active until'} {expires}"


@command.command("list")
@_FILE
def list_feeds(path: Path) -> None:
    """List feeds: name, ODS codes, created, state (active, active until, expired), last use of the current
    token, and any old token still in its grace period. The tokens themselves are not stored."""
    try:
        entries = read_entries(path)
    except FhirFamilyError as exc:
        _fail(str(exc))
    uses = read_last_use(path)
    now = datetime.now(UTC)
    for entry in entries:
        used = uses.get(str(entry.get("token_sha256")))
        line = [
            str(entry.get("feed")),
            ",".join(entry.get("ods", [])),
            str(entry.get("created_at", "-")),
            _state(entry.get("expires_at"), now),
            f"last used {used}" if used else "never used",
        ]
        for old in entry.get("previous") or []:
            old_used = uses.get(str(old.get("token_sha256")))
            line.append(f"old token {_state(old.get('expires_at'), now)}, "
                        f"{'last used ' + old_used if old_used else 'never used'}")
        click.echo("\t".join(line))


@command.command("revoke")
@click.option("--feed", required=True)
@_FILE
def revoke(feed: str, path: Path) -> None:
    """Remove a feed: its token is refused from the facade's next request on."""
    try:
        done = revoke_feed(path, feed)
    except FhirFamilyError as exc:
        _fail(str(exc))
    if not done:
        _fail(f"no feed {feed!r} in {path}")
