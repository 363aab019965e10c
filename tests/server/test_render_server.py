"""The studio render server end to end: a real local Ray instance, the Serve app with tiny packs, real HTTPS.

Marked `server`: Ray and the app start once per session (tens of seconds on 2 cores). Sockets are allowed
to the loopback address only.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, InvalidRequestError
from atelier.core.progress import Progress
from atelier.core.requests import Request
from atelier.core.requests.lyrics import LyricRequest, LyricResult
from atelier.core.requests.palette import PaletteFromTextRequest, PaletteResult
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.core.settings import Settings
from atelier.remote.client import (
    QUEUED_MESSAGE,
    CertificateError,
    RemoteDeviceInfo,
    RenderServerClient,
    ServerBusyError,
    ServerRefusedError,
)
from atelier.remote.wire import encode_request
from tests.server.conftest import LOCALHOST, ServerUnderTest

pytestmark = [pytest.mark.server, pytest.mark.enable_socket, pytest.mark.allow_hosts(LOCALHOST)]


def client(server: ServerUnderTest, token: str | None = None, fingerprint: str | None = None) -> RenderServerClient:
    return RenderServerClient(
        server.url, server.token if token is None else token, server.fingerprint if fingerprint is None else fingerprint
    )


def raw(server: ServerUnderTest) -> http.client.HTTPSConnection:
    """A connection that trusts exactly the server's certificate (checked by the client's own code elsewhere)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    port = int(server.url.rsplit(":", 1)[1])
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)
    connection.connect()
    der = connection.sock.getpeercert(binary_form=True)
    assert hashlib.sha256(der).hexdigest() == server.fingerprint
    return connection


def post_job(server: ServerUnderTest, request: Request) -> tuple[str, http.client.HTTPResponse]:
    job_id = hashlib.sha256(f"{time.monotonic_ns()}".encode()).hexdigest()[:32]
    connection = raw(server)
    body = json.dumps({"id": job_id, "request": encode_request(request)})
    connection.request(
        "POST", "/v1/jobs", body, {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    )
    return job_id, connection.getresponse()


def events(response: http.client.HTTPResponse) -> Iterator[tuple[float, dict[str, Any]]]:
    for line in response:
        if line.strip():
            yield time.monotonic(), json.loads(line)


@pytest.fixture(scope="module")
def server(render_server: ServerUnderTest) -> ServerUnderTest:
    return render_server


@pytest.fixture(scope="module")
def local_engine() -> Any:
    from atelier.engine.runner import Engine

    return Engine(Settings())  # the same settings the replicas were given


def long_sketch(server: ServerUnderTest, seed: int = 0) -> SketchRequest:
    """A job that runs for tens of seconds: every step is a point where cancel is seen."""
    return SketchRequest(
        prompt="a lighthouse", pack_id=str(server.sketch_folder), width=256, height=256, steps=150, count=4, seed=seed
    )


def test_every_call_needs_the_token(server: ServerUnderTest) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": server.token}):
        connection = raw(server)
        connection.request("GET", "/v1/packs", headers=headers)
        response = connection.getresponse()
        assert response.status == 401, headers
        assert response.getheader("WWW-Authenticate", "").startswith("Bearer")
        connection.close()
    for method, path in (("POST", "/v1/jobs"), ("DELETE", "/v1/jobs/" + "0" * 32)):
        connection = raw(server)
        connection.request(method, path, body=b"{}", headers={"Authorization": "Bearer wrong"})
        assert connection.getresponse().status == 401, path
        connection.close()
    with pytest.raises(ServerRefusedError, match="refused the access token"):
        client(server, token="x" * 43).info()
    with pytest.raises(ServerRefusedError):
        client(server, token="x" * 43).run_to_end(PaletteFromTextRequest(text="sea", count=3))
    info = client(server).info()
    assert info["server"]["device"]["provider"] == "CPUExecutionProvider"
    packs = {p["id"]: p for p in info["packs"]}
    assert "tiny-llama" in packs and len(packs["tiny-llama"]["sha256"]) == 64


def test_tls_pinned_fingerprint_works_and_a_wrong_one_is_refused(server: ServerUnderTest) -> None:
    with_colons = ":".join(server.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert client(server, fingerprint=with_colons).info()["packs"]
    wrong = hashlib.sha256(b"another certificate").hexdigest()
    with pytest.raises(CertificateError, match="does not match the pinned"):
        client(server, fingerprint=wrong).info()
    with pytest.raises(CertificateError, match="does not match the pinned"):
        client(server, fingerprint=wrong).run_to_end(PaletteFromTextRequest(text="sea", count=3))
    # No fingerprint: a self-signed certificate is not trusted, so nothing (the token above all) is sent.
    with pytest.raises(CertificateError, match="not signed by a known authority"):
        client(server, fingerprint="").info()
    with pytest.raises(CertificateError, match="not a SHA-256"):
        client(server, fingerprint="abc")


def test_events_arrive_in_order_with_device_and_pack(server: ServerUnderTest) -> None:
    request = LyricRequest(
        prompt="rain on the window", mode="poem", lines=3, max_tokens=40, seed=3, pack_id="tiny-llama"
    )
    job_id, response = post_job(server, request)
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("application/x-ndjson")
    seen = [event for _, event in events(response)]
    kinds = [e["event"] for e in seen if e["event"] != "queued"]
    assert kinds[0] == "started" and kinds[-1] == "result", kinds
    # Progress that piles up while one report travels is sent as its latest, so there may be few of them.
    assert set(kinds[1:-1]) == {"progress"} and len(kinds) >= 3, kinds
    assert all(e["job"] == job_id for e in seen)
    steps = [e["progress"]["step"] for e in seen if e["event"] == "progress"]
    assert steps == sorted(steps)
    texts = [e["progress"].get("preview") for e in seen if e["event"] == "progress"]
    streamed = [t for t in texts if isinstance(t, str) and t]
    assert streamed and all(b.startswith(a) or a in b for a, b in itertools.pairwise(streamed))
    for event in seen:
        if event["event"] != "queued":
            assert event["device"]["provider"] == "CPUExecutionProvider" and event["host"], event["event"]
            assert event["pack"]["id"] == "tiny-llama" and len(event["pack"]["sha256"]) == 64, event["event"]
    result = seen[-1]
    assert result["result"]["kind"] == "lyrics" and isinstance(result["result"]["text"], str)


def test_bad_requests_are_clear_errors(server: ServerUnderTest) -> None:
    with pytest.raises(InvalidRequestError, match="Seed"):
        # Built here without its checks, as a client of another version might send it: the server checks again.
        request = LyricRequest(prompt="x", pack_id="tiny-llama")
        object.__setattr__(request, "seed", -4)
        client(server).run_to_end(request)
    connection = raw(server)
    connection.request("POST", "/v1/jobs", body=b"not json", headers={"Authorization": f"Bearer {server.token}"})
    assert connection.getresponse().status == 400


@pytest.mark.parametrize("kind", ["palette", "lyric", "sketch"])
def test_same_result_remotely_as_locally(server: ServerUnderTest, local_engine: Any, kind: str) -> None:
    request: Request
    if kind == "palette":
        request = PaletteFromTextRequest(text="stormy sea at dusk", count=6, seed=5)
    elif kind == "lyric":
        request = LyricRequest(
            prompt="an old photograph", mode="poem", lines=4, max_tokens=48, seed=11, pack_id="tiny-llama"
        )
    else:
        request = SketchRequest(
            prompt="a red boat", pack_id=str(server.sketch_folder), width=64, height=64, steps=3, seed=9
        )
    remote = client(server).run_to_end(request)
    local = local_engine.run_to_end(request)
    assert type(remote) is type(local)
    assert isinstance(remote.device, RemoteDeviceInfo) and remote.device.host
    assert remote.device.label.endswith(f"on {remote.device.host}")
    if isinstance(local, PaletteResult):
        assert isinstance(remote, PaletteResult)
        assert (remote.colors, remote.names, remote.source) == (local.colors, local.names, local.source)
    elif isinstance(local, LyricResult):
        assert isinstance(remote, LyricResult)
        assert remote.text == local.text and remote.generated_tokens == local.generated_tokens
    else:
        assert isinstance(local, SketchResult) and isinstance(remote, SketchResult)
        assert remote.seeds == local.seeds and len(remote.images) == len(local.images)
        for mine, theirs in zip(local.images, remote.images, strict=True):
            assert theirs.dtype == np.uint8 and theirs.shape == mine.shape
            assert np.array_equal(theirs, mine)


def test_busy_server_answers_503_then_a_cancel_frees_the_replica_within_a_second(server: ServerUnderTest) -> None:
    remote = client(server)
    first_cancel = CancelToken()
    outcome: dict[str, Any] = {}
    progressed = threading.Event()

    def run_first() -> None:
        generator = remote.run(long_sketch(server), first_cancel)
        try:
            while True:
                next(generator)
                progressed.set()
        except CancelledError:
            outcome["cancelled_at"] = time.monotonic()
        except StopIteration:
            outcome["finished"] = True
        except Exception as exc:
            outcome["error"] = exc

    first = threading.Thread(target=run_first)
    first.start()
    try:
        assert progressed.wait(90), outcome
        # The replica runs the first job; the second waits in its queue (size 1); a third is refused.
        _second_id, second = post_job(server, PaletteFromTextRequest(text="quiet snowy morning", count=4, seed=1))
        assert second.status == 200
        head = second.readline()
        assert json.loads(head)["event"] == "queued"
        with pytest.raises(ServerBusyError) as busy:
            client(server).run_to_end(PaletteFromTextRequest(text="desert", count=3))
        assert busy.value.retry_after_s >= 1
        connection = raw(server)
        connection.request(
            "POST",
            "/v1/jobs",
            json.dumps({"id": "f" * 32, "request": encode_request(long_sketch(server))}),
            {"Authorization": f"Bearer {server.token}"},
        )
        refused = connection.getresponse()
        assert refused.status == 503 and int(refused.getheader("Retry-After", "0")) >= 1
        cancelled_at = time.monotonic()
        first_cancel.cancel()
        first.join(10)
        assert outcome.get("cancelled_at"), outcome
        assert outcome["cancelled_at"] - cancelled_at < 1.0, "the cancelled job's stream did not end within 1 s"
        # The replica takes the waiting job as soon as the cancelled one has stopped.
        started = next(t for t, e in events(second) if e["event"] == "started")
        assert started - cancelled_at < 1.0, f"the next job started {started - cancelled_at:.2f}s after the cancel"
        rest = [e["event"] for _, e in events(second)]
        assert rest[-1] == "result", rest
    finally:
        first_cancel.cancel()
        first.join(10)


def test_a_cancel_sent_before_the_job_arrives_still_cancels_it(server: ServerUnderTest) -> None:
    job_id = "e" * 32
    connection = raw(server)
    connection.request("DELETE", f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {server.token}"})
    assert json.loads(connection.getresponse().read()) == {"cancelled": False}
    connection = raw(server)
    body = json.dumps({"id": job_id, "request": encode_request(long_sketch(server, seed=2))})
    connection.request("POST", "/v1/jobs", body, {"Authorization": f"Bearer {server.token}"})
    began = time.monotonic()
    kinds = [e["event"] for _, e in events(connection.getresponse())]
    assert kinds[-1] == "cancelled" and "result" not in kinds and time.monotonic() - began < 5


def test_cli_runs_a_task_on_the_server_and_refuses_a_wrong_key_in_one_line(
    server: ServerUnderTest, local_engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from atelier.cli import main

    monkeypatch.delenv("ATELIER_TOKEN", raising=False)
    common = ["palette", "--text", "autumn forest", "--count", "5", "--seed", "2", "--json", "--server", server.url]
    pinned = ["--token-file", str(server.token_file), "--fingerprint", server.fingerprint]
    assert main([*common, *pinned]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["server"] == server.url
    local = local_engine.run_to_end(PaletteFromTextRequest(text="autumn forest", count=5, seed=2))
    assert [c["hex"] for c in data["colors"]] == list(local.colors)

    wrong_token = tmp_path / "token"
    wrong_token.write_text("not-the-server-token-at-all\n")
    wrong_fingerprint = hashlib.sha256(b"x").hexdigest()
    for args, message in (
        (["--token-file", str(wrong_token), "--fingerprint", server.fingerprint], "refused the access token"),
        (["--token-file", str(server.token_file), "--fingerprint", wrong_fingerprint], "does not match the pinned"),
        (["--token-file", str(server.token_file)], "not signed by a known authority"),
        (["--fingerprint", server.fingerprint], "needs an access token"),
    ):
        assert main([*common, *args]) == 1, args
        captured = capsys.readouterr()
        assert captured.out == "", "nothing ran here instead"
        lines = [line for line in captured.err.splitlines() if line.startswith("atelier: error:")]
        assert len(lines) == 1 and message in lines[0], captured.err
    monkeypatch.setenv("ATELIER_TOKEN", server.token)
    assert main([*common, "--fingerprint", server.fingerprint]) == 0
    assert json.loads(capsys.readouterr().out)["server"] == server.url


def test_a_job_waiting_for_a_busy_replica_says_so_then_runs(server: ServerUnderTest) -> None:
    long_cancel = CancelToken()
    progressed = threading.Event()
    seen: list[Progress] = []
    outcome: dict[str, Any] = {}

    def run(request: Request, cancel: CancelToken, started: threading.Event | None) -> None:
        generator = client(server).run(request, cancel)
        try:
            while True:
                progress = next(generator)
                if started is not None:
                    started.set()
                else:
                    seen.append(progress)
        except StopIteration as stop:
            outcome[request.kind] = stop.value
        except CancelledError:
            outcome[request.kind] = "cancelled"

    first = threading.Thread(target=run, args=(long_sketch(server, seed=3), long_cancel, progressed))
    first.start()
    waiting = threading.Thread(target=run, args=(PaletteFromTextRequest(text="lavender", count=3), CancelToken(), None))
    try:
        assert progressed.wait(90)
        waiting.start()
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen and seen[0].message == QUEUED_MESSAGE and seen[0].total == 0
    finally:
        long_cancel.cancel()
        first.join(10)
        if waiting.ident is not None:
            waiting.join(30)
    assert outcome["sketch"] == "cancelled" and isinstance(outcome["palette-text"], PaletteResult)
