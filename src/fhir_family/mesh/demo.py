"""The MESH leg of ``fhir-family up``: a mesh-sandbox on a free loopback port, the provider's facade
configured to forward by MESH (mailbox X26ABC1, bound to the EHR examples' provider RX4), the EHR examples
sent through its ``POST /submit``, then the real ``fhir-family collector mesh-poll --once`` (mailbox X26ABC2)
ingesting them into the same database, and the outcomes fetched back into ``var/mesh-outcomes/``."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FhirFamilyError
from .config import MeshSettings
from .sandbox import SANDBOX_MAILBOXES, SANDBOX_PASSWORD, SANDBOX_SHARED_KEY, MeshSandbox

DEMO_ODS = "RX4"
PROVIDER_MAILBOX, COLLECTOR_MAILBOX = SANDBOX_MAILBOXES[0], SANDBOX_MAILBOXES[1]
_EHR_TYPES = {".json": "application/json", ".hl7": "x-application/hl7-v2+er7"}


@dataclass
class MeshDemo:
    """What the demo printed, and the sandbox to stop when ``up`` stops."""

    lines: list[str] = field(default_factory=list)
    sandbox: MeshSandbox | None = None

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def _settings(url: str, mailbox: str) -> dict[str, str]:
    return {
        "URL": url,
        "MAILBOX": mailbox,
        "PASSWORD": SANDBOX_PASSWORD,
        "SHARED_KEY": SANDBOX_SHARED_KEY,
        "TO": COLLECTOR_MAILBOX,
    }


def ehr_examples(examples: Path) -> list[Path]:
    """The EHR inputs that map to a conformant return (not the invalid-* or edge-* cases)."""
    ehr = examples / "ehr"
    found = sorted((ehr / "json").glob("*.json")) + sorted((ehr / "hl7v2").glob("*.hl7"))
    return [p for p in found if not p.name.startswith(("invalid-", "edge-")) and ".expected" not in p.name]


def run_mesh_demo(db_url: str, key_file: Path, var_dir: Path, examples: Path, cli: list[str]) -> MeshDemo:
    """Run the MESH path end to end; a missing sandbox or a MESH failure is reported, never raised."""
    demo = MeshDemo()
    demo.sandbox = MeshSandbox(var_dir / "mesh-sandbox.log")
    try:
        url = demo.sandbox.start()
    except FhirFamilyError as exc:
        demo.sandbox = None
        demo.lines.append(f"  MESH demo skipped: {exc}")
        return demo
    demo.lines.append(f"  mesh-sandbox on {url}: facade {PROVIDER_MAILBOX} -> collector {COLLECTOR_MAILBOX}")
    try:
        _send_poll_fetch(demo, url, db_url, key_file, var_dir, examples, cli)
    except FhirFamilyError as exc:
        demo.lines.append(f"  MESH demo failed: {exc}")
    return demo


def _send_poll_fetch(
    demo: MeshDemo, url: str, db_url: str, key_file: Path, var_dir: Path, examples: Path, cli: list[str]
) -> None:
    from ..collector.database import make_engine, session_factory
    from ..collector.mailboxes import bind_mailbox
    from ..facade.app import create_app
    from ..facade.feed_tokens import issue_feed_token
    from .sender import fetch_outcomes

    engine = make_engine(db_url)
    bind_mailbox(session_factory(engine), PROVIDER_MAILBOX, DEMO_ODS, label=f"demo-mesh-{DEMO_ODS}")
    engine.dispose()

    feed_tokens = var_dir / "mesh-feed-tokens.json"
    bearer = {"Authorization": f"Bearer {issue_feed_token(feed_tokens, 'demo-mesh', [DEMO_ODS])}"}
    config = {"COLLECTOR_TRANSPORT": "mesh", "MESH": _settings(url, PROVIDER_MAILBOX),
              "FEED_TOKENS_FILE": str(feed_tokens)}
    facade = create_app(config)
    sent = 0
    with facade.test_client() as client:
        for path in ehr_examples(examples):
            answer = client.post("/submit", data=path.read_bytes(), content_type=_EHR_TYPES[path.suffix],
                                 headers=bearer)
            if answer.status_code == 202:
                sent += 1
            else:
                demo.lines.append(f"  {path.name}: facade answered HTTP {answer.status_code}")
    demo.lines.append(f"  {sent} EHR examples sent by MESH through the facade's POST /submit")

    env = {
        **os.environ,
        **{f"FHIR_FAMILY_MESH_{k}": v for k, v in _settings(url, COLLECTOR_MAILBOX).items()},
    }
    poll = subprocess.run(
        [*cli, "collector", "mesh-poll", "--once", "--db", db_url, "--key-file", str(key_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = (poll.stdout.strip().splitlines() or [poll.stderr.strip()])[-1]
    demo.lines.append(f"  collector mesh-poll: {summary}")
    saved = var_dir / "mesh-outcomes"
    outcomes = fetch_outcomes(MeshSettings.from_env(_settings(url, PROVIDER_MAILBOX)), saved)
    accepted = sum(o.accepted for o in outcomes)
    refused = sum(o.refused for o in outcomes)
    demo.lines.append(
        f"  {len(outcomes)} outcome message(s) back in {PROVIDER_MAILBOX}: {accepted} accepted, "
        f"{refused} refused (saved in {saved})"
    )

