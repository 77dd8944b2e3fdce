"""Returns by MESH against a real mesh-sandbox (NHS England's), started on a free loopback port for this
module: send, poll, ingest through the $import path, acknowledge, outcome back; mailbox binding; a crash
between retrieve and acknowledge; a chunked batch; the facade forwarding by MESH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from fhir_family.cli import main as cli_main
from fhir_family.collector.mailboxes import bind_mailbox, revoke_mailbox
from fhir_family.collector.schema import AuditEvent, Submission
from fhir_family.collector.service import Collector
from fhir_family.collector.settings import CollectorSettings
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mesh import MeshConfigurationError, MeshSettings, send_returns
from fhir_family.mesh.poller import CRASH_ENV, MeshPoller
from fhir_family.mesh.sandbox import SANDBOX_PASSWORD, SANDBOX_SHARED_KEY, MeshSandbox
from fhir_family.mesh.sender import fetch_outcomes

KEY = "mesh-test-key-0123456789abcdef-0123"
PROVIDER, COLLECTOR, STRANGER = "X26ABC1", "X26ABC2", "X26ABC3"
EXAMPLE_ODS = "XFF01"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with MeshSandbox(tmp_path_factory.mktemp("mesh") / "sandbox.log") as running:
        yield running


def settings(sandbox: MeshSandbox, mailbox: str, **extra) -> MeshSettings:
    return MeshSettings.from_env(
        {
            "URL": sandbox.url,
            "MAILBOX": mailbox,
            "PASSWORD": SANDBOX_PASSWORD,
            "SHARED_KEY": SANDBOX_SHARED_KEY,
            "TO": COLLECTOR,
            **extra,
        }
    )


def mesh_env(sandbox: MeshSandbox, mailbox: str) -> dict[str, str]:
    return mesh_env_for(sandbox.url, mailbox)


def mesh_env_for(url: str, mailbox: str) -> dict[str, str]:
    return {
        "FHIR_FAMILY_MESH_URL": url,
        "FHIR_FAMILY_MESH_MAILBOX": mailbox,
        "FHIR_FAMILY_MESH_PASSWORD": SANDBOX_PASSWORD,
        "FHIR_FAMILY_MESH_SHARED_KEY": SANDBOX_SHARED_KEY,
        "FHIR_FAMILY_MESH_TO": COLLECTOR,
        "FHIR_FAMILY_PSEUDONYM_KEY": KEY,
    }


@pytest.fixture
def inboxes(sandbox):
    """Every test starts and ends with empty inboxes (the sandbox lives for the whole module)."""

    def drain() -> None:
        for mailbox in (PROVIDER, COLLECTOR, STRANGER):
            with settings(sandbox, mailbox).client() as client:
                for message_id in list(client.iterate_message_ids()):
                    client.acknowledge_message(message_id)

    drain()
    yield
    drain()


def inbox(sandbox: MeshSandbox, mailbox: str) -> list[str]:
    with settings(sandbox, mailbox).client() as client:
        return list(client.iterate_message_ids())


def example_bundles(examples_dir: Path) -> list[Path]:
    return sorted((examples_dir / "bundles").glob("*.json"))


def count_submissions(collector: Collector) -> int:
    with collector.sessions() as session:
        return session.scalar(select(func.count()).select_from(Submission))


def make_collector(db_url: str, validator) -> Collector:
    return Collector(CollectorSettings(db_url, KEY.encode()), validator=validator)


def test_cli_send_poll_ingest_acknowledge_and_fetch_outcomes(
    sandbox, inboxes, db_url, collector_validator, examples_dir, tmp_path
):
    collector = make_collector(db_url, collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, EXAMPLE_ODS)
    runner = CliRunner()
    files = [str(p) for p in example_bundles(examples_dir)]

    sent = runner.invoke(cli_main, ["submit", "--via", "mesh", *files], env=mesh_env(sandbox, PROVIDER))
    assert sent.exit_code == 0, sent.output
    assert f"{len(files)} return(s) sent by MESH to {COLLECTOR}" in sent.output
    assert len(inbox(sandbox, COLLECTOR)) == 1  # one batch, one message

    polled = runner.invoke(
        cli_main,
        ["collector", "mesh-poll", "--once", "--db", db_url],
        env=mesh_env(sandbox, COLLECTOR),
    )
    assert polled.exit_code == 0, polled.output
    assert f"{len(files)} line(s), {len(files)} accepted, 0 refused" in polled.output
    assert count_submissions(collector) == len(files)
    assert inbox(sandbox, COLLECTOR) == []  # acknowledged

    fetched = runner.invoke(
        cli_main,
        ["submit", "--via", "mesh", "--fetch-outcomes", str(tmp_path / "outcomes")],
        env=mesh_env(sandbox, PROVIDER),
    )
    assert fetched.exit_code == 0, fetched.output
    assert f"{len(files)} line(s), {len(files)} accepted, 0 refused" in fetched.output
    saved = list((tmp_path / "outcomes").glob("batch-*.outcomes.ndjson"))
    assert len(saved) == 1
    lines = [json.loads(line) for line in saved[0].read_text().splitlines()]
    assert [r["id"] for r in lines] == [f"line-{n}" for n in range(1, len(files) + 1)]
    assert all(r["resourceType"] == "OperationOutcome" for r in lines)
    assert all(r["issue"][0]["details"]["coding"][0]["code"] == "FF-MESH-STORED" for r in lines)
    assert inbox(sandbox, PROVIDER) == []  # the outcome was acknowledged once saved

    # The same batch again: the same local id, every line a no-op.
    resent = runner.invoke(cli_main, ["submit", "--via", "mesh", *files], env=mesh_env(sandbox, PROVIDER))
    assert resent.exit_code == 0
    assert saved[0].name.split(".")[0] in resent.output
    MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert count_submissions(collector) == len(files)
    again = fetch_outcomes(settings(sandbox, PROVIDER), tmp_path / "again")
    codes = {json.loads(x)["issue"][0]["details"]["coding"][0]["code"] for x in again[0].path.open()}
    assert codes == {"FF-MESH-UNCHANGED"}


def test_single_return_uses_its_submission_id_as_local_id(sandbox, inboxes, tmp_path, collector_validator):
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    bundle = build_bundle(next(synthetic_month(patients_per_provider=1)))
    sent = send_returns(settings(sandbox, PROVIDER), [bundle])
    assert sent.local_id == bundle["identifier"]["value"]
    [result] = MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert (result.local_id, result.sender, result.lines, result.accepted) == (sent.local_id, PROVIDER, 1, 1)


def test_refusals_are_per_line_audited_and_sent_back(sandbox, inboxes, tmp_path, collector_validator):
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    records = list(synthetic_month(patients_per_provider=2, providers=(("RXA", "A"), ("RXB", "B"))))
    own, other = build_bundle(records[0]), build_bundle(records[2])
    broken = build_bundle(records[1])
    del broken["entry"][1]["resource"]["birthDate"]
    send_returns(settings(sandbox, PROVIDER), [own, other, broken])
    [result] = MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert (result.lines, result.accepted, result.acknowledged) == (3, 1, True)
    [outcome] = fetch_outcomes(settings(sandbox, PROVIDER), tmp_path / "out")
    lines = [json.loads(x) for x in outcome.path.open()]
    assert "HTTP 403" in lines[1]["issue"][0]["diagnostics"]  # another provider's return
    assert lines[1]["issue"][1]["details"]["coding"][0]["code"] == "FF-COLLECTOR-FORBIDDEN"
    assert "HTTP 422" in lines[2]["issue"][0]["diagnostics"]  # the validator's own issues follow
    assert any("birthDate" in e for i in lines[2]["issue"][1:] for e in i.get("expression", []))
    with collector.sessions() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.outcome == 403)).all()
    assert [r.target for r in refusals] == [other["identifier"]["value"]]
    assert "MESH X26ABC1" in refusals[0].actor


def test_unbound_or_revoked_mailbox_is_refused_whole(sandbox, inboxes, tmp_path, collector_validator):
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bundle = build_bundle(next(synthetic_month(patients_per_provider=1)))
    send_returns(settings(sandbox, STRANGER), [bundle])
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    revoke_mailbox(collector.sessions, PROVIDER)
    send_returns(settings(sandbox, PROVIDER), [bundle])
    results = MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert sorted(r.sender for r in results) == [PROVIDER, STRANGER]
    assert all(r.refused_whole for r in results)
    assert count_submissions(collector) == 0
    assert inbox(sandbox, COLLECTOR) == []  # a refusal cannot succeed by retrying: acknowledged
    with collector.sessions() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "mesh-submit")).all()
    assert sorted(a.actor for a in audit) == [f"MESH {PROVIDER}", f"MESH {STRANGER}"]
    assert {a.outcome for a in audit} == {403}
    [outcome] = fetch_outcomes(settings(sandbox, STRANGER), tmp_path / "out")
    [line] = [json.loads(x) for x in outcome.path.open()]
    assert "not bound to a provider" in line["issue"][0]["diagnostics"]


def test_kill_between_retrieve_and_acknowledge_loses_and_duplicates_nothing(
    sandbox, inboxes, tmp_path, collector_validator
):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    collector = make_collector(db, collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    bundles = [build_bundle(r) for r in synthetic_month(patients_per_provider=5, providers=(("RXA", "A"),))]
    send_returns(settings(sandbox, PROVIDER), bundles)
    cli = str(Path(sys.executable).with_name("fhir-family"))
    command = [cli, "collector", "mesh-poll", "--once", "--db", db]
    env = {**os.environ, **mesh_env(sandbox, COLLECTOR)}

    temp = tmp_path / "tmp"
    temp.mkdir()
    crashed = subprocess.run(
        command, env={**env, CRASH_ENV: "1", "TMPDIR": str(temp)}, capture_output=True, timeout=300
    )
    assert crashed.returncode == -9, crashed.stderr  # SIGKILL after storing, before outcome and acknowledge
    # what the killed poller left in its temp folder holds no raw NHS number (the message spool is encrypted)
    numbers = {i["value"] for b in bundles for e in b["entry"] for i in e["resource"].get("identifier", [])
               if i["system"] == "https://fhir.nhs.uk/Id/nhs-number"}
    left = b"".join(path.read_bytes() for path in temp.rglob("*") if path.is_file())
    assert numbers and not [n for n in numbers if n.encode() in left]
    assert count_submissions(collector) == 5
    assert len(inbox(sandbox, COLLECTOR)) == 1  # still there
    assert inbox(sandbox, PROVIDER) == []  # no outcome yet

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "5 line(s), 5 accepted" in rerun.stdout
    assert count_submissions(collector) == 5  # nothing twice
    assert inbox(sandbox, COLLECTOR) == []
    [outcome] = fetch_outcomes(settings(sandbox, PROVIDER), tmp_path / "out")
    codes = [json.loads(x)["issue"][0]["details"]["coding"][0]["code"] for x in outcome.path.open()]
    assert codes == ["FF-MESH-UNCHANGED"] * 5  # the second run found every line already stored


def test_large_batch_travels_in_mesh_chunks(sandbox, inboxes, tmp_path, collector_validator):
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    bundles = [build_bundle(r) for r in synthetic_month(patients_per_provider=60, providers=(("RXA", "A"),))]
    small_chunks = settings(sandbox, PROVIDER, CHUNK_SIZE="65536")
    send_returns(small_chunks, bundles)
    with settings(sandbox, COLLECTOR).client() as client:
        [message_id] = list(client.iterate_message_ids())
        message = client.retrieve_message(message_id)
        chunks = int(message.mex_header("total-chunks"))
        message.close()
    assert chunks > 1
    [result] = MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert (result.lines, result.accepted) == (60, 60)
    assert count_submissions(collector) == 60


def test_facade_forwards_by_mesh(sandbox, inboxes, tmp_path, collector_validator, examples_dir, feed_tokens):
    from fhir_family.facade.app import create_app

    mesh = {
        "URL": sandbox.url,
        "MAILBOX": PROVIDER,
        "PASSWORD": SANDBOX_PASSWORD,
        "SHARED_KEY": SANDBOX_SHARED_KEY,
        "TO": COLLECTOR,
    }
    app = create_app({"COLLECTOR_TRANSPORT": "mesh", "MESH": mesh, "VALIDATOR": collector_validator,
                      "FEED_TOKENS_FILE": feed_tokens[0]})
    body = (examples_dir / "bundles" / "young-carer-daughter.json").read_bytes()
    answer = app.test_client().post("/submit", data=body, content_type="application/fhir+json",
                                    headers=feed_tokens[1])
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert "Sent by MESH" in answer.get_json()["issue"][0]["diagnostics"]
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, EXAMPLE_ODS)
    [result] = MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once()
    assert (result.lines, result.accepted) == (1, 1)
    assert result.local_id == json.loads(body)["identifier"]["value"]


def test_facade_without_mesh_settings_answers_503(
    monkeypatch, collector_validator, examples_dir, feed_tokens
):
    from fhir_family.facade.app import create_app

    for name in ("URL", "MAILBOX", "PASSWORD", "SHARED_KEY"):
        monkeypatch.delenv(f"FHIR_FAMILY_MESH_{name}", raising=False)
    app = create_app({"COLLECTOR_TRANSPORT": "mesh", "VALIDATOR": collector_validator,
                      "FEED_TOKENS_FILE": feed_tokens[0]})
    body = (examples_dir / "bundles" / "young-carer-daughter.json").read_bytes()
    answer = app.test_client().post("/submit", data=body, content_type="application/fhir+json",
                                    headers=feed_tokens[1])
    assert answer.status_code == 503
    assert "FHIR_FAMILY_MESH_URL" in answer.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"URL": None}, "FHIR_FAMILY_MESH_URL"),
        ({"URL": "http://mesh.example.nhs.uk"}, "only a loopback sandbox may skip TLS"),
        ({"CERT": "client.pem"}, "both FHIR_FAMILY_MESH_CERT and FHIR_FAMILY_MESH_KEY"),
        ({"CHUNK_SIZE": "lots"}, "must be integers"),
    ],
)
def test_bad_mesh_settings_say_what_is_wrong(monkeypatch, overrides, message):
    for name in ("URL", "MAILBOX", "PASSWORD", "SHARED_KEY", "CERT", "KEY", "CHUNK_SIZE"):
        monkeypatch.delenv(f"FHIR_FAMILY_MESH_{name}", raising=False)
    given = {"URL": "https://mesh.example.nhs.uk", "MAILBOX": "A1", "PASSWORD": "p", "SHARED_KEY": "k"}
    given.update(overrides)
    given = {k: v for k, v in given.items() if v is not None}
    with pytest.raises(MeshConfigurationError, match=message):
        MeshSettings.from_env(given)


def test_submit_via_mesh_without_configuration_is_one_line_exit_2(monkeypatch, examples_dir):
    for name in ("URL", "MAILBOX", "PASSWORD", "SHARED_KEY"):
        monkeypatch.delenv(f"FHIR_FAMILY_MESH_{name}", raising=False)
    result = CliRunner().invoke(cli_main, ["submit", "--via", "mesh", str(example_bundles(examples_dir)[0])])
    assert result.exit_code == 2
    assert "MESH is not configured: set FHIR_FAMILY_MESH_URL" in result.output


def _bench_mesh():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "bench_mesh.py"
    spec = importlib.util.spec_from_file_location("bench_mesh", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_mesh", module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return sys.modules["bench_mesh"]


@pytest.mark.parametrize(
    "returns",
    [
        500,
        pytest.param(
            50_000,
            marks=pytest.mark.skipif(
                os.environ.get("FHIR_FAMILY_MESH_50K") != "1",
                reason="FHIR_FAMILY_MESH_50K=1 runs it (~10 min)",
            ),
        ),
    ],
)
def test_batch_by_mesh_keeps_memory_flat(returns, tmp_path):
    """Sender and poller as separate processes: a larger batch must not raise either's peak RSS by more than
    a few MB (streamed from file to MESH chunks to a spool file, line by line into the store). The smaller
    batch is at least 200 returns: below that the poller is still building what every process builds on first
    use (validator plans per shape, caches), ~20 MB between 50 and 500 returns, ~12 MB from 200 to 2,000.
    (Until bench_mesh measured each command through a launcher, this read the test process's own peak.)"""
    bench = _bench_mesh()
    smaller = max(returns // 10, 200)
    small = bench.measure(smaller, tmp_path)
    large = bench.measure(returns, tmp_path)
    assert (small.stored, large.stored) == (smaller, returns)
    assert f"{returns} line(s), {returns} accepted, 0 refused" in large.poll_output
    assert large.send_peak_rss_mb < small.send_peak_rss_mb + 20
    assert large.poll_peak_rss_mb < small.poll_peak_rss_mb + 20


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_facade_with_mesh_unreachable_answers_502(collector_validator, examples_dir, feed_tokens):
    from fhir_family.facade.app import create_app

    mesh = {"URL": _closed_port_url(), "MAILBOX": PROVIDER, "PASSWORD": "p", "SHARED_KEY": "k"}
    mesh.update({"TO": COLLECTOR, "RETRIES": "0"})
    app = create_app({"COLLECTOR_TRANSPORT": "mesh", "MESH": mesh, "VALIDATOR": collector_validator,
                      "FEED_TOKENS_FILE": feed_tokens[0]})
    body = (examples_dir / "bundles" / "young-carer-daughter.json").read_bytes()
    answer = app.test_client().post("/submit", data=body, content_type="application/fhir+json",
                                    headers=feed_tokens[1])
    assert answer.status_code == 502
    assert "MESH send failed" in answer.get_json()["issue"][0]["diagnostics"]


def test_mesh_poll_with_mesh_unreachable_is_one_line_exit_2(tmp_path):
    env = mesh_env_for(_closed_port_url(), COLLECTOR)
    result = CliRunner().invoke(
        cli_main,
        ["collector", "mesh-poll", "--once", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}"],
        env={**env, "FHIR_FAMILY_MESH_RETRIES": "0"},
    )
    assert result.exit_code == 2
    assert result.output.startswith("fhir-family collector mesh-poll: MESH poll failed: ConnectionError")
    assert "Traceback" not in result.output


def test_mailbox_commands(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    runner = CliRunner()
    add = ["collector", "add-mailbox", "--db", db]
    added = runner.invoke(cli_main, [*add, "--mailbox", "x26abc1", "--ods", "RXA"])
    assert added.exit_code == 0 and "mailbox X26ABC1 submits for RXA" in added.output
    listed = runner.invoke(cli_main, ["collector", "list-mailboxes", "--db", db])
    assert "X26ABC1" in listed.output and "RXA" in listed.output and "active" in listed.output
    bad = runner.invoke(cli_main, [*add, "--mailbox", "X1", "--ods", "rxa!"])
    assert bad.exit_code == 2 and "fhir-family collector add-mailbox:" in bad.output
    assert runner.invoke(cli_main, ["collector", "revoke-mailbox", "X26ABC1", "--db", db]).exit_code == 0
    again = runner.invoke(cli_main, ["collector", "revoke-mailbox", "X26ABC1", "--db", db])
    assert again.exit_code == 2 and "no active binding for mailbox X26ABC1" in again.output


def test_migrations_match_the_schema_including_mesh_mailboxes(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from fhir_family.collector.database import make_engine, migrate
    from fhir_family.collector.schema import Base

    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as connection:
        assert "mesh_mailboxes" in inspect(connection).get_table_names()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_other_flows_messages_stay_in_the_inbox(sandbox, inboxes, tmp_path, collector_validator):
    collector = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}", collector_validator)
    bind_mailbox(collector.sessions, PROVIDER, "RXA")
    with settings(sandbox, PROVIDER).client() as client:
        other = client.send_message(COLLECTOR, b"not ours\n", workflow_id="SOME_OTHER_FLOW")
    assert MeshPoller(collector, settings(sandbox, COLLECTOR)).poll_once() == []
    assert inbox(sandbox, COLLECTOR) == [other]
