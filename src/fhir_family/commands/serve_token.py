"""``fhir-family serve-token``: issue, list and revoke the facade's EHR-feed bearer tokens.

Tokens live in a JSON file (``--file``, default ``$FHIR_FAMILY_FEED_TOKENS``) holding only their SHA-256;
``serve --feed-tokens`` names the same file. A token is printed once, by ``issue``; issuing again for the same
feed replaces (rotates) its token. The facade re-reads the file when it changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from ..errors import FhirFamilyError
from ..facade.feed_tokens import ENV_FILE, issue_feed_token, read_entries, revoke_feed
from .exits import fail

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
@_FILE
def issue(feed: str, ods_codes: tuple[str, ...], path: Path) -> None:
    """Issue (or rotate) a feed's token and print it: it is shown only this once."""
    try:
        token = issue_feed_token(path, feed, list(ods_codes))
    except FhirFamilyError as exc:
        _fail(str(exc))
    click.echo(token)


@command.command("list")
@_FILE
def list_feeds(path: Path) -> None:
    """List feeds (name, ODS codes, created); the tokens themselves are not stored."""
    try:
        entries = read_entries(path)
    except FhirFamilyError as exc:
        _fail(str(exc))
    for entry in entries:
        click.echo(f"{entry.get('feed')}\t{','.join(entry.get('ods', []))}\t{entry.get('created_at', '-')}")


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
