"""The MESH commands: ``fhir-family collector mesh-poll`` (the collector's inbox), ``collector add-mailbox``
/ ``list-mailboxes`` / ``revoke-mailbox`` (which provider a mailbox submits for), and the MESH half of
``fhir-family submit --via mesh`` (send, ``--fetch-outcomes``). MESH settings come from the
``FHIR_FAMILY_MESH_*`` environment (docs/mesh.md); secrets never from the command line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from ..collector.settings import DEFAULT_KEY_PATH, default_database_url, read_pseudonym_key
from ..errors import FhirFamilyError
from .exits import ExitCode, fail

DB_OPTION = click.option(
    "--db", "db_url", default=None, help="Database URL (default $DATABASE_URL or SQLite var/)."
)
MAILBOX_OPTION = click.option(
    "--mailbox", default=None, help="This end's MESH mailbox (default $FHIR_FAMILY_MESH_MAILBOX)."
)
URL_OPTION = click.option(
    "--mesh-url", default=None, help="MESH API base URL (default $FHIR_FAMILY_MESH_URL)."
)


def _sessions(db_url: str | None):  # type: ignore[no-untyped-def]
    from ..collector.database import make_engine, migrate, session_factory

    engine = make_engine(db_url or default_database_url())
    migrate(engine)
    return engine, session_factory(engine)


@click.command("mesh-poll")
@DB_OPTION
@click.option("--key-file", type=click.Path(path_type=Path), default=DEFAULT_KEY_PATH, show_default=True)
@MAILBOX_OPTION
@URL_OPTION
@click.option("--once", is_flag=True, help="Handle what is waiting, then exit (default: poll until stopped).")
@click.option("--interval", default=30.0, show_default=True, type=float, help="Seconds between polls.")
def mesh_poll(
    db_url: str | None, key_file: Path, mailbox: str | None, mesh_url: str | None, once: bool, interval: float
) -> None:
    """Poll the collector's MESH inbox: ingest each return message as $import does, send the per-line
    outcome back to the sender's mailbox, then acknowledge it."""
    from ..collector.service import Collector
    from ..collector.settings import CollectorSettings
    from ..mesh.config import MeshSettings
    from ..mesh.poller import MeshPoller, poll_forever

    db_url = db_url or default_database_url()
    try:
        settings = MeshSettings.from_env({"MAILBOX": mailbox, "URL": mesh_url})
        key = read_pseudonym_key(key_file)
        collector = Collector(CollectorSettings.from_config({"DATABASE_URL": db_url, "PSEUDONYM_KEY": key}))
    except FhirFamilyError as exc:
        fail("collector mesh-poll", str(exc))
    poller = MeshPoller(collector, settings)
    if not once:
        click.echo(f"fhir-family collector mesh-poll: {settings.mailbox}, every {interval} s", err=True)
        try:
            poll_forever(poller, interval)
        except KeyboardInterrupt:
            click.echo("fhir-family collector mesh-poll: stopped", err=True)
        return
    try:
        results = poller.poll_once()
    except FhirFamilyError as exc:
        fail("collector mesh-poll", str(exc))
    for result in results:
        if result.refused_whole:
            what = "refused: mailbox not bound to a provider"
        else:
            refused = result.lines - result.accepted
            what = f"{result.lines} line(s), {result.accepted} accepted, {refused} refused"
            what += "" if result.acknowledged else " (collector failures: left in the inbox)"
        click.echo(f"{result.message_id} from {result.sender} (local id {result.local_id}): {what}")
    click.echo(f"{len(results)} message(s) handled")
    collector.engine.dispose()


@click.command("add-mailbox")
@click.option("--mailbox", required=True, help="The provider's MESH mailbox id.")
@click.option("--ods", required=True, help="The provider's ODS code: the only one it may submit for.")
@click.option("--label", default=None, help="A name for the audit log.")
@click.option("--name", "organisation_name", default=None, help="The organisation's name (new ODS code).")
@DB_OPTION
def add_mailbox(
    mailbox: str, ods: str, label: str | None, organisation_name: str | None, db_url: str | None
) -> None:
    """Bind a provider's MESH mailbox to its ODS code (as a token is bound)."""
    from ..collector.mailboxes import bind_mailbox

    engine, sessions = _sessions(db_url)
    try:
        bind_mailbox(sessions, mailbox, ods, label, organisation_name)
    except FhirFamilyError as exc:
        fail("collector add-mailbox", str(exc))
    finally:
        engine.dispose()
    click.echo(f"mailbox {mailbox.upper()} submits for {ods}")


@click.command("list-mailboxes")
@DB_OPTION
def list_mailboxes_command(db_url: str | None) -> None:
    """List MESH mailbox bindings (mailbox, ODS code, label, bound, revoked)."""
    from ..collector.mailboxes import list_mailboxes

    engine, sessions = _sessions(db_url)
    for row in list_mailboxes(sessions):
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        bound = f"{row.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{row.mailbox_id:20}  {row.ods_code:6}  {row.label:24}  {bound}  {revoked}")
    engine.dispose()


@click.command("revoke-mailbox")
@click.argument("mailbox")
@DB_OPTION
def revoke_mailbox_command(mailbox: str, db_url: str | None) -> None:
    """Revoke a mailbox binding: its messages are refused from then on."""
    from ..collector.mailboxes import revoke_mailbox

    engine, sessions = _sessions(db_url)
    done = revoke_mailbox(sessions, mailbox)
    engine.dispose()
    if not done:
        fail("collector revoke-mailbox", f"no active binding for mailbox {mailbox}")
    click.echo(f"mailbox {mailbox.upper()} revoked")


def register(group: click.Group) -> None:
    """Add the MESH subcommands to ``fhir-family collector``."""
    for command in (mesh_poll, add_mailbox, list_mailboxes_command, revoke_mailbox_command):
        group.add_command(command)


# -- fhir-family submit --via mesh ---------------------------------------------------------------------------


def mesh_settings(mailbox: str | None, to_mailbox: str | None):  # type: ignore[no-untyped-def]
    """The sender's settings, or a one-line failure (exit 2)."""
    from ..mesh.config import MeshSettings

    try:
        return MeshSettings.from_env({"MAILBOX": mailbox, "TO": to_mailbox})
    except FhirFamilyError as exc:
        fail("submit", str(exc))


def send_bundles(settings: Any, bundles: Iterable[dict[str, Any]]) -> tuple[str, str, int]:
    """Send the conformant bundles as one MESH message: (message id, local id, count)."""
    from ..mesh.sender import send_returns

    sent = send_returns(settings, bundles)
    return sent.message_id, sent.local_id, sent.returns


def show_outcomes(settings: Any, out_dir: Path, verbose_limit: int = 20) -> int:
    """Fetch, save and show the collector's outcomes; exit status 0 all accepted, 1 any refused."""
    from ..mesh.outcomes import is_accepted, summary_text
    from ..mesh.sender import fetch_outcomes, read_outcomes

    try:
        files = fetch_outcomes(settings, out_dir)
    except FhirFamilyError as exc:
        fail("submit", str(exc))
    refused = 0
    for item in files:
        click.echo(
            f"{item.local_id} (MESH {item.message_id}): {item.lines} line(s), {item.accepted} accepted, "
            f"{item.refused} refused -> {item.path}"
        )
        shown = 0
        for resource in read_outcomes(item.path):
            if not is_accepted(resource) and shown < verbose_limit:
                click.echo(f"  {summary_text(resource)}", err=True)
                shown += 1
        refused += item.refused
    click.echo(f"{len(files)} outcome message(s) fetched")
    return ExitCode.REJECTED if refused else ExitCode.OK
