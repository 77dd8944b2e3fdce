"""``fhir-family collector``: run the national collector under gunicorn; ``collector add-token`` issues a
bearer token (printed once, stored only as its hash); ``collector migrate`` brings the schema up to date.

The database is ``--db`` or ``$DATABASE_URL`` (default: SQLite ``var/collector.sqlite``). The pseudonymisation
key is ``$FHIR_FAMILY_PSEUDONYM_KEY`` or the ``--key-file`` (default ``var/pseudonym.key``); without one the
collector refuses to start.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import NoReturn

import click

from ..collector.settings import DEFAULT_KEY_PATH, default_database_url, read_pseudonym_key
from ..errors import FhirFamilyError
from ..wsgi_server import port_free
from .exits import fail

DB_OPTION = click.option(
    "--db", "db_url", default=None, help="Database URL (default $DATABASE_URL or SQLite var/)."
)


def _fail(message: str) -> NoReturn:
    fail("collector", message)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def build_app(db_url: str, key: bytes, allow_query_token: bool):  # type: ignore[no-untyped-def]
    """The app factory each gunicorn worker calls (the master has already migrated the schema)."""
    from ..collector.app import create_app

    return create_app(
        {
            "DATABASE_URL": db_url,
            "PSEUDONYM_KEY": key,
            "MIGRATE": False,
            "ALLOW_QUERY_TOKEN": allow_query_token,
        }
    )


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=int)
@DB_OPTION
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    default=DEFAULT_KEY_PATH,
    show_default=True,
    help="File holding the pseudonymisation key (when $FHIR_FAMILY_PSEUDONYM_KEY is unset).",
)
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.option(
    "--allow-query-token",
    is_flag=True,
    help="Accept ?token= on GET (so a browser can open the report). Loopback demo use only.",
)
@click.pass_context
def command(
    ctx: click.Context,
    host: str,
    port: int,
    db_url: str | None,
    key_file: Path,
    workers: int,
    threads: int,
    allow_query_token: bool,
) -> None:
    """Run the national collector HTTP API under gunicorn."""
    if ctx.invoked_subcommand is not None:
        return
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.gunicorn_server import serve
    from ..collector.keys import check_fingerprint

    if allow_query_token and not _is_loopback(host):
        _fail("--allow-query-token puts tokens in URLs: it is allowed on a loopback address only")
    if not port_free(host, port):
        _fail(f"port {port} on {host} is in use; choose another with --port (0: any free port)")
    db_url = db_url or default_database_url()
    try:
        key = read_pseudonym_key(key_file)
        engine = make_engine(db_url)
        migrate(engine)
        check_fingerprint(session_factory(engine), key)  # a changed key: one line here, not in every worker
        engine.dispose()
    except FhirFamilyError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - e.g. database unreachable: one line, not a trace
        _fail(f"cannot open the database {db_url}: {exc.__class__.__name__}: {exc}")
    click.echo(f"fhir-family collector: http://{host}:{port}/ (database {_safe(db_url)})", err=True)
    serve(partial(build_app, db_url, key, allow_query_token), host, port, workers=workers, threads=threads)


def _safe(db_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


EXPIRES_OPTION = click.option(
    "--expires-in",
    default=None,
    help="Refuse the token after this: a duration (90d, 12h, 2w) or a date (2027-03-01). Default: never.",
)


@command.command("add-token")
@click.option("--role", type=click.Choice(["provider", "analyst"]), default="provider", show_default=True)
@click.option("--ods", default=None, help="The provider's ODS code (provider tokens only).")
@click.option("--label", default=None, help="A name for the audit log (default: role and ODS code).")
@click.option(
    "--name", "organisation_name", default=None, help="The organisation's name, for a new ODS code."
)
@EXPIRES_OPTION
@DB_OPTION
def add_token(
    role: str,
    ods: str | None,
    label: str | None,
    organisation_name: str | None,
    expires_in: str | None,
    db_url: str | None,
) -> None:
    """Issue a bearer token and print it: it is shown only this once (only its hash is stored)."""
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.tokens import issue_token
    from ..expiry import parse_expiry

    engine = make_engine(db_url or default_database_url())
    try:
        expires_at = parse_expiry(expires_in) if expires_in else None
        migrate(engine)
        token = issue_token(session_factory(engine), role, ods, label, organisation_name, expires_at)
    except FhirFamilyError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    click.echo(token)


@command.command("migrate")
@DB_OPTION
def migrate_command(db_url: str | None) -> None:
    """Create or upgrade the collector's tables (also done on every start)."""
    from ..collector.database import make_engine, migrate

    engine = make_engine(db_url or default_database_url())
    migrate(engine)
    engine.dispose()
    click.echo("collector schema is up to date")


@command.command("list-tokens")
@DB_OPTION
def list_tokens_command(db_url: str | None) -> None:
    """List tokens (id, role, ODS code, label, created, state, last use); the tokens themselves are not
    stored. State: active, active until an expiry, expired, or revoked."""
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.tokens import list_tokens
    from ..expiry import aware

    engine = make_engine(db_url or default_database_url())
    migrate(engine)
    now = datetime.now(UTC)
    for row in list_tokens(session_factory(engine)):
        if row.revoked_at:
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
        elif row.expires_at and aware(row.expires_at) <= now:
            state = f"expired {row.expires_at:%Y-%m-%d %H:%M}"
        elif row.expires_at:
            state = f"active until {row.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(
            f"{row.id:>5}  {row.role:8}  {row.ods_code or '-':6}  {row.label:24}  "
            f"{row.created_at:%Y-%m-%d %H:%M}  {state:28}  {used}"
        )
    engine.dispose()


@command.command("rotate-token")
@click.argument("token_id", type=int)
@click.option("--grace", default="1d", show_default=True,
              help="How long the old token keeps working (30m, 12h, 2d; 0 revokes it at once).")
@EXPIRES_OPTION
@DB_OPTION
def rotate_token_command(token_id: int, grace: str, expires_in: str | None, db_url: str | None) -> None:
    """Issue a new token for the same role, provider and label as token TOKEN_ID and print it (shown only
    this once); the old one keeps working for the grace period, so the client can switch without downtime."""
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.tokens import rotate_token
    from ..expiry import parse_duration, parse_expiry

    engine = make_engine(db_url or default_database_url())
    try:
        period = parse_duration(grace)
        expires_at = parse_expiry(expires_in) if expires_in else None
        migrate(engine)
        token, new_id = rotate_token(session_factory(engine), token_id, period, expires_at)
    except FhirFamilyError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    old = "revoked now" if not period else f"valid for {grace} more"
    click.echo(f"token {new_id} replaces token {token_id} ({old})", err=True)
    click.echo(token)


@command.command("revoke-token")
@click.argument("token_id", type=int)
@DB_OPTION
def revoke_token_command(token_id: int, db_url: str | None) -> None:
    """Revoke the token with this id (see list-tokens); it is refused from then on."""
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.tokens import revoke_token

    engine = make_engine(db_url or default_database_url())
    migrate(engine)
    done = revoke_token(session_factory(engine), token_id)
    engine.dispose()
    if not done:
        _fail(f"no active token with id {token_id}")
    click.echo(f"token {token_id} revoked")


def _rekey_key(option: str, path: Path | None, variable: str) -> bytes:
    """A key for ``rekey``: the environment variable first, else the file; normalised as every key is."""
    import os

    from ..collector.settings import usable_key

    value = os.environ.get(variable)
    if value:
        return usable_key(value)
    if path is None:
        _fail(f"rekey needs {option} FILE (or ${variable})")
    try:
        return usable_key(path.read_bytes())
    except OSError as exc:
        _fail(f"cannot read {option} {path}: {exc.strerror}")


@command.command("rekey")
@click.option("--old-key-file", type=click.Path(path_type=Path), default=None,
              help="The key the database's pseudonyms were made with (or $FHIR_FAMILY_OLD_PSEUDONYM_KEY).")
@click.option("--new-key-file", type=click.Path(path_type=Path), default=None,
              help="The key to move them to (or $FHIR_FAMILY_NEW_PSEUDONYM_KEY).")
@DB_OPTION
def rekey_command(old_key_file: Path | None, new_key_file: Path | None, db_url: str | None) -> None:
    """Move every pseudonym (and the key fingerprint) to a new pseudonymisation key, in one transaction.
    Stop every collector process first; start them again with the new key."""
    from ..collector.database import make_engine, migrate
    from ..collector.rekey import rekey

    old_key = _rekey_key("--old-key-file", old_key_file, "FHIR_FAMILY_OLD_PSEUDONYM_KEY")
    new_key = _rekey_key("--new-key-file", new_key_file, "FHIR_FAMILY_NEW_PSEUDONYM_KEY")
    shown: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        # Large tables: a line per 10,000 rows and the last; small ones: the last only.
        if done == total or done - shown.get(table, 0) >= 10_000:
            shown[table] = done
            click.echo(f"rekey: {table} {done}/{total}", err=True)

    engine = make_engine(db_url or default_database_url())
    try:
        migrate(engine)
        counts = rekey(engine, old_key, new_key, progress)
    except FhirFamilyError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    click.echo(
        f"re-keyed {counts['submissions']} submission(s), {counts['child_facts']} child fact(s), "
        f"{counts['resources']} resource(s): start the collector with the new key"
    )


from .mesh import register as _register_mesh  # noqa: E402 - the MESH subcommands live in their own module

_register_mesh(command)
