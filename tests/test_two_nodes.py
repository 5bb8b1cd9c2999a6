"""Two Vigil nodes, each with its own data dir, on one PostgreSQL and one shared blob folder,
behave as one service (docs/operations.md, Several nodes): what one node records, the other
acts on, and a node started without the first node's keys refuses to sign its log."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from service.audit import note
from service.match.hashes import pdq
from tests.cli.test_cli import free_port, wait_ready
from tests.generation.helpers import consented_subject, photo_bytes, spec, submit

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def vigil(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(data), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def serve(data: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--data-dir", str(data), "serve", "--port", str(port), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    wait_ready(port, proc, limit=180)  # the first node converts the text encoder first
    return proc, f"http://127.0.0.1:{port}"


def key(data: Path, env: dict[str, str], role: str) -> dict[str, str]:
    made = vigil(data, env, "keys", "create", "--role", role, "--tenant", "default")
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}


def a_poster() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(42))).save(out, "PNG")
    return out.getvalue()


async def test_two_nodes_on_one_postgresql_behave_as_one_service(tmp_path: Path, database_url: str):
    node_a, node_b = tmp_path / "node-a", tmp_path / "node-b"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VIGIL_BLOB_DIR": str(tmp_path / "shared-blobs"),
        "VIGIL_LOG_JSON": "false",
        "VIGIL_JOBS_POLL_S": "0.2",
    }
    assert vigil(node_a, env, "keys", "init-signing", "--org", "Two Nodes").returncode == 0
    admin, studio = key(node_a, env, "admin"), key(node_a, env, "studio")
    platform, reviewer, second = (
        key(node_a, env, "platform"),
        key(node_a, env, "reviewer"),
        key(node_a, env, "reviewer"),
    )
    # Node A serves without a job worker, so every job is run by node B's.
    a_proc, a_url = serve(node_a, env, "--no-worker")
    procs = [a_proc]
    try:
        # The second node gets the first node's keys (log and C2PA) and, to start fast, its models.
        shutil.copytree(node_a / "keys", node_b / "keys")
        shutil.copytree(node_a / "models", node_b / "models", copy_function=os.link)
        b_proc, b_url = serve(node_b, env)
        procs.append(b_proc)
        async with (
            httpx.AsyncClient(base_url=a_url, timeout=60) as a,
            httpx.AsyncClient(base_url=b_url, timeout=60) as b,
        ):
            # 1. A bank imported on A matches on B (B's index catches up before each match).
            poster = a_poster()
            made = await a.post(
                "/v1/banks", json={"name": "posters", "kind": "block", "hash_type": "pdq"}, headers=admin
            )
            assert made.status_code == 201, made.text
            signal_hex = pdq(Image.open(io.BytesIO(poster))).hex
            imported = await a.post(
                "/v1/banks/posters/import",
                content=f"signal_type,signal,labels\npdq,{signal_hex},poster\n",
                headers={**admin, "Content-Type": "text/csv"},
            )
            assert imported.status_code == 200, imported.text
            verdict = (await b.post("/v1/check", files={"file": ("p.png", poster)}, headers=platform)).json()
            assert verdict["decision"] == "block"
            assert [m["bank"] for m in verdict["matches"]] == ["posters"]

            # 2. A flag raised by a check on A is decided on B; A answers the outcome.
            caption = (
                "Heroes never die: our fallen soldiers rise to heaven, glory to those who gave their lives."
            )
            sent = (await a.post("/v1/check", data={"text": caption}, headers=platform)).json()
            assert sent["decision"] == "review"
            decided = await _decide(b, sent["flag_id"], "reject", reviewer, second)
            assert decided["final"]
            answer = (await a.get(f"/v1/checks/{sent['check_id']}/review", headers=platform)).json()
            assert (answer["status"], answer["outcome"]) == ("decided", "reject")

            # 3. A generation submitted on A is generated by B's worker; approved on A (its decision
            #    releases it from the shared blobs); downloaded from B and trusted there.
            sid = await consented_subject(a, studio)
            gid = (await submit(a, studio, spec(sid))).json()["id"]
            generation = await _until_settled(a, gid, studio)
            assert generation["status"] == "held"  # no image model: a person decides
            flag = (await a.post("/v1/flags/claim", headers=reviewer)).json()
            approved = await _decide(a, flag["id"], "approve", reviewer, second, claimed=True)
            effects = {(e["target"], e["result"]) for e in approved["effects"]}  # type: ignore[attr-defined]
            assert (f"generation:{gid}", "released") in effects
            output = await b.get(f"/v1/generations/{gid}/output", headers=studio)
            assert output.status_code == 200
            report = (
                await b.post("/v1/verify", files={"file": ("f.jpg", output.content)}, headers=admin)
            ).json()
            assert report["state"] == "trusted"

            # 4. One log: both nodes serve checkpoints signed by the same key.
            published = (await a.get("/v1/log/key", headers=admin)).json()
            assert published == (await b.get("/v1/log/key", headers=admin)).json()
            for node in (a, b):
                text = (await node.get("/v1/log/checkpoint", headers=admin)).text
                note.verify(text, published["origin"], base64.b64decode(published["public_key"]))

        # 5. A third node started with keys of its own refuses to sign this log.
        stranger = vigil(tmp_path / "node-c", env, "audit", "key")
        assert stranger.returncode == 5, stranger.stdout + stranger.stderr
        assert "copy them here" in stranger.stderr
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.communicate(timeout=60)


async def _decide(
    node: httpx.AsyncClient,
    flag_id: str,
    decision: str,
    reviewer: dict[str, str],
    second: dict[str, str],
    *,
    claimed: bool = False,
) -> dict[str, object]:
    """Claim (unless claimed) and decide; a flag sampled for double review gets a second person."""
    body = {"decision": decision, "rationale": "Decided on the other node."}
    for person in (reviewer, second):
        if not (claimed and person is reviewer):
            claim = await node.post(f"/v1/flags/{flag_id}/claim", headers=person)
            assert claim.status_code == 200, claim.text
        done = await node.post(f"/v1/flags/{flag_id}/decision", json=body, headers=person)
        assert done.status_code == 200, done.text
        if done.json()["final"]:
            return dict(done.json())
    raise AssertionError("two reviewers agreed and the decision is still not final")


async def _until_settled(node: httpx.AsyncClient, gid: str, studio: dict[str, str]) -> dict[str, object]:
    for _ in range(300):
        got = (await node.get(f"/v1/generations/{gid}", headers=studio)).json()
        if got["status"] not in ("queued", "running"):
            return dict(got)
        await asyncio.sleep(0.2)
    raise AssertionError(f"generation {gid} never left the queue: is node B's worker running?")
