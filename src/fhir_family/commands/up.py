"""``fhir-family up``: the whole system on this machine, for a first look (``make run`` calls it).

Starts the collector and the facade under gunicorn on loopback (SQLite under ``var/``, a local
pseudonymisation key created in ``var/pseudonym.key`` when absent), issues demo tokens (printed, and saved in
``var/demo-tokens.json``), sends every example bundle through the facade's ``POST /submit`` (map, validate,
forward: the real HTTP path), bulk-loads a deterministic synthetic month for three providers through the
collector's ``$import``, sends the EHR examples by MESH (``mesh/demo.py``: a mesh-sandbox, the facade
forwarding by MESH, ``collector mesh-poll``), prints the report and the URLs, and runs until Ctrl-C, then
stops both servers and the sandbox.

The report URL carries the analyst token as ``?token=``: the collector accepts that only because ``up``
starts it with ``--allow-query-token``, which the collector permits on loopback addresses only. A real
deployment sends ``Authorization: Bearer`` and never puts tokens in URLs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from .exits import ExitCode, fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..mesh.demo import MeshDemo

HOST = "127.0.0.1"
DEMO_PROVIDERS = ("XFF01", "RX4", "RXA", "RXB", "RXC")
"""XFF01: the example bundles' provider; RX4: the EHR examples'; RXA-RXC: the synthetic month's."""
STARTUP_SECONDS = 90


def _fail(message: str) -> NoReturn:
    fail("up", message)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _cli() -> list[str]:
    installed = Path(sys.executable).with_name("fhir-family")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "import sys; from fhir_family.cli import main; sys.exit(main())"]


class Servers:
    """The two child processes; stopped gracefully (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], log: Path, env: dict[str, str]) -> None:
        with log.open("ab") as out:
            # A session of their own: Ctrl-C reaches only ``up``, which then stops them in order.
            self.children[name] = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def dead(self) -> str | None:
        return next((name for name, proc in self.children.items() if proc.poll() is not None), None)

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.children.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(servers: Servers, urls: dict[str, str], logs: dict[str, Path]) -> None:
    import requests

    deadline = time.monotonic() + STARTUP_SECONDS
    pending = dict(urls)
    while pending:
        dead = servers.dead()
        if dead:
            tail = logs[dead].read_text(errors="replace").splitlines()[-15:]
            servers.stop()
            _fail(f"the {dead} stopped while starting; last lines of {logs[dead]}:\n" + "\n".join(tail))
        for name, url in list(pending.items()):
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    del pending[name]
            except requests.RequestException:
                pass
        if time.monotonic() > deadline:
            servers.stop()
            _fail(f"{', '.join(pending)} did not start within {STARTUP_SECONDS} s (see {var_logs(logs)})")
        time.sleep(0.3)


def var_logs(logs: dict[str, Path]) -> str:
    return ", ".join(str(path) for path in logs.values())


def _load_examples(facade_url: str, examples: Path) -> tuple[int, list[str]]:
    import requests

    accepted, problems = 0, []
    with requests.Session() as session:
        for path in sorted((examples / "bundles").glob("*.json")):
            response = session.post(
                f"{facade_url}/submit",
                data=path.read_bytes(),
                headers={"Content-Type": "application/fhir+json"},
                timeout=120,
            )
            if response.status_code == 200:
                accepted += 1
            else:
                problems.append(f"{path.name}: HTTP {response.status_code}")
    return accepted, problems


def _load_synthetic(collector_url: str, tokens: dict[str, str], month: str, per_provider: int) -> list[str]:
    """One ``$import`` per provider, polled to completion; returns a line per provider."""
    from ..collector.client import CollectorClient
    from ..collector.synthetic import synthetic_month
    from ..mapping.bundle import build_bundle

    by_provider: dict[str, list[str]] = {}
    for record in synthetic_month(month, per_provider):
        by_provider.setdefault(record.ods_code, []).append(
            json.dumps(build_bundle(record), separators=(",", ":"))
        )
    lines = []
    for ods, bundles in by_provider.items():
        with CollectorClient(collector_url, tokens[ods], timeout=(5.0, 120.0)) as client:
            started = client.import_ndjson("\n".join(bundles).encode("utf-8"))
            if started.status != 202:
                lines.append(f"{ods}: $import refused (HTTP {started.status})")
                continue
            status_url = started.headers["Content-Location"]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                status = client.get(status_url)
                if status.status == 200 and status.body:
                    summary = status.body["summary"]
                    lines.append(f"{ods}: {summary['accepted']} accepted, {summary['rejected']} rejected")
                    break
                time.sleep(0.5)
            else:
                lines.append(f"{ods}: $import still running (see {status_url})")
    return lines


@click.command()
@click.option("--facade-port", default=8080, show_default=True, type=int)
@click.option("--collector-port", default=8081, show_default=True, type=int)
@click.option(
    "--var",
    "var_dir",
    default=Path("var"),
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the SQLite database, key, tokens and logs.",
)
@click.option(
    "--month",
    default="2025-12",
    show_default=True,
    help="Month of the synthetic returns (one the examples do not use, so its figures stand alone).",
)
@click.option("--patients-per-provider", default=120, show_default=True, type=int)
@click.option("--fresh", is_flag=True, help="Start from an empty database (deletes var/collector.sqlite).")
def command(
    facade_port: int, collector_port: int, var_dir: Path, month: str, patients_per_provider: int, fresh: bool
) -> None:
    """Start facade and collector on loopback with SQLite and the examples loaded."""
    for port in (facade_port, collector_port):
        if not _port_free(port):
            _fail(f"port {port} on {HOST} is in use; choose others with --facade-port / --collector-port")
    var_dir.mkdir(parents=True, exist_ok=True)
    demo = _prepare(var_dir, fresh, collector_port, facade_port)
    from ..mesh.demo import MeshDemo

    servers = Servers()
    mesh_demo = MeshDemo()
    unexpected = False

    def on_term(_signum, _frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        click.echo(f"starting the collector on {demo.collector_url} and the facade on {demo.facade_url} ...")
        _start(servers, demo)
        mesh_demo = _load(demo, month, patients_per_provider)
        click.echo(_welcome(demo))
        unexpected = _watch(servers, demo.logs)
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
    finally:
        servers.stop()
        mesh_demo.stop()
        demo.engine.dispose()
    click.echo("stopped")
    sys.exit(ExitCode.REJECTED if unexpected else ExitCode.OK)


@dataclass
class Demo:
    """Everything ``up`` set up before starting the servers: where they listen, the database, the tokens."""

    var_dir: Path
    collector_url: str
    facade_url: str
    collector_port: int
    facade_port: int
    db_url: str
    key_file: Path
    engine: Engine
    tokens: dict[str, str]
    token_file: Path
    logs: dict[str, Path]
    env: dict[str, str]


def _prepare(var_dir: Path, fresh: bool, collector_port: int, facade_port: int) -> Demo:
    """The SQLite database (migrated; emptied with ``--fresh``), the local key and demo tokens under var/."""
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.settings import ensure_local_key
    from ..collector.tokens import issue_token

    db_path = var_dir / "collector.sqlite"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_url = f"sqlite:///{db_path.resolve()}"
    key_file = ensure_local_key(var_dir / "pseudonym.key")
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    tokens = {ods: issue_token(sessions, "provider", ods, label=f"demo-{ods}") for ods in DEMO_PROVIDERS}
    tokens["analyst"] = issue_token(sessions, "analyst", label="demo-analyst")
    token_file = var_dir / "demo-tokens.json"
    token_file.write_text(json.dumps(tokens, indent=2) + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    return Demo(
        var_dir=var_dir,
        collector_url=f"http://{HOST}:{collector_port}",
        facade_url=f"http://{HOST}:{facade_port}",
        collector_port=collector_port,
        facade_port=facade_port,
        db_url=db_url,
        key_file=key_file,
        engine=engine,
        tokens=tokens,
        token_file=token_file,
        logs={"collector": var_dir / "collector.log", "facade": var_dir / "facade.log"},
        env={k: v for k, v in os.environ.items() if k not in ("FHIR_FAMILY_PSEUDONYM_KEY", "DATABASE_URL")},
    )


def _start(servers: Servers, demo: Demo) -> None:
    """Both servers as child processes, each with its log file; returns once both answer."""
    servers.start(
        "collector",
        [
            *_cli(),
            "collector",
            "--host",
            HOST,
            "--port",
            str(demo.collector_port),
            "--db",
            demo.db_url,
            "--key-file",
            str(demo.key_file),
            "--allow-query-token",
        ],
        demo.logs["collector"],
        demo.env,
    )
    servers.start(
        "facade",
        [*_cli(), "serve", "--host", HOST, "--port", str(demo.facade_port), "--workers", "1",
         "--threads", "4", "--collector-url", demo.collector_url],
        demo.logs["facade"],
        {**demo.env, "FHIR_FAMILY_TOKEN": demo.tokens["XFF01"]},
    )
    ready = {"collector": f"{demo.collector_url}/health", "facade": f"{demo.facade_url}/metadata"}
    _wait_ready(servers, ready, demo.logs)


def _load(demo: Demo, month: str, patients_per_provider: int) -> MeshDemo:
    """The example bundles through the facade, a synthetic month through $import, the EHR examples by MESH,
    then the report; returns the MESH demo (its sandbox runs until ``up`` stops)."""
    from ..collector import reports
    from ..guide import examples_dir
    from ..mesh.demo import run_mesh_demo

    click.echo("loading examples/bundles through the facade's POST /submit ...")
    accepted, problems = _load_examples(demo.facade_url, examples_dir())
    click.echo(f"  {accepted} example bundles accepted" + "".join(f"\n  {p}" for p in problems))
    click.echo(
        f"loading a synthetic month ({month}, {patients_per_provider} patients per provider) "
        "through the collector's $import ..."
    )
    for line in _load_synthetic(demo.collector_url, demo.tokens, month, patients_per_provider):
        click.echo(f"  {line}")
    click.echo("sending the EHR examples by MESH (facade -> mesh-sandbox -> collector mesh-poll) ...")
    mesh_demo = run_mesh_demo(demo.db_url, demo.key_file, demo.var_dir, examples_dir(), _cli())
    click.echo("\n".join(mesh_demo.lines))
    report = reports.build_report(demo.engine)
    (demo.var_dir / "report.html").write_text(reports.to_html(report), encoding="utf-8")
    click.echo("\n" + reports.to_table(report) + "\n")
    return mesh_demo


def _welcome(demo: Demo) -> str:
    """Where everything is, and the demo tokens."""
    analyst = demo.tokens["analyst"]
    return "\n".join(
        [
            f"Facade    {demo.facade_url}   (GET /metadata, POST /ehr/json, POST /submit)",
            f"Collector {demo.collector_url}   (FHIR base: POST /, GET /Bundle, POST /$import)",
            "Report (open in a browser; demo-only token in the URL, loopback only):",
            f"  {demo.collector_url}/reports/monthly?format=html&token={analyst}",
            f"  or: curl -H 'Authorization: Bearer {analyst}' \\\n"
            f"        '{demo.collector_url}/reports/monthly?format=csv'",
            f"  or open {demo.var_dir / 'report.html'}",
            f"Demo tokens (also in {demo.token_file}):",
            *(f"  {name:8} {token}" for name, token in demo.tokens.items()),
            f"Logs: {var_logs(demo.logs)}",
            "Press Ctrl-C to stop.",
        ]
    )


def _watch(servers: Servers, logs: dict[str, Path]) -> bool:
    """Wait until a server dies (True: unexpected) or Ctrl-C/SIGTERM (KeyboardInterrupt)."""
    while True:
        dead = servers.dead()
        if dead:
            click.echo(f"the {dead} stopped unexpectedly; see {logs[dead]}", err=True)
            return True
        time.sleep(0.5)
