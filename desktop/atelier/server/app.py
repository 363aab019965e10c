"""The Serve application: a Gateway (HTTP under /v1/: token check, NDJSON event streams, cancel) in front of
Renderer replicas, each holding one Engine (the desktop worker's) and running one job at a time.

Only JSON and PNG cross the network. Between the Gateway and the Renderers Ray moves the same plain
dicts through its own transport (which pickles internally); nothing a client sends is unpickled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ray import serve
from ray.serve.exceptions import BackPressureError, RequestCancelledError
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response, StreamingResponse

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError, CancelledError
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.core.settings import Settings
from atelier.remote.wire import (
    MAX_BODY_BYTES,
    WIRE_VERSION,
    WireError,
    decode_request,
    encode_error,
    encode_progress,
    encode_result,
)
from atelier.server.security import token_matches

log = logging.getLogger("atelier.server")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# A job not started within this long is reported as queued, so the client knows it was accepted.
QUEUED_NOTICE_S = 0.3
REMEMBERED_CANCELS = 1024
# Which pack kind a request uses when it names none (the task then takes the first of that kind).
PACK_KIND = {"lyrics": "llm", "sketch": "diffusion", "colorize": "colorize", "lineart": "lineart", "melody": "melody"}


@dataclass(frozen=True)
class ServerOptions:
    """Everything the deployments are made with; plain values, so `atelier serve` can print and check them."""

    token_digest: str
    settings: dict[str, Any] = field(default_factory=dict)  # Settings values for each replica's Engine
    replicas: int = 1
    max_replicas: int = 0  # above `replicas`: Serve's autoscaler adds replicas up to this many under load
    cpus_per_replica: float = 1.0
    gpus_per_replica: float = 0.0
    queue_per_replica: int = 4  # jobs waiting per replica beyond the one running; more get 503
    retry_after_s: int = 2

    @property
    def queue_limit(self) -> int:
        return self.queue_per_replica * max(self.replicas, self.max_replicas)


def pack_hash(pack: Any) -> str:
    """A pack's content identity: SHA-256 over its manifest's (path, sha256) list, the same on every node."""
    lines = sorted(f"{item.path}\0{item.sha256}" for item in pack.files)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode("utf-8") + b"\n"


class Renderer:
    """One replica: the desktop worker's Engine, one job at a time (max_ongoing_requests=1)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from atelier.engine.providers import choose_providers
        from atelier.engine.runner import Engine

        self.engine = Engine(Settings(**settings).validated())
        self.host = socket.gethostname()
        pool = self.engine.pool
        candidates, skipped = choose_providers(self.engine.settings.device, pool.available(), pool.degraded)
        self.device = DeviceInfo(provider=candidates[0], requested=tuple(candidates), fallbacks=tuple(skipped))

    def _device(self, device: DeviceInfo | None = None) -> dict[str, Any]:
        device = device or self.device
        return {"provider": device.provider, "requested": list(device.requested), "fallbacks": list(device.fallbacks)}

    def packs(self) -> dict[str, Any]:
        self.engine.rescan()
        return {
            "server": {"host": self.host, "device": self._device(), "wire": WIRE_VERSION},
            "packs": [
                {"id": p.id, "name": p.name, "kind": p.kind, "licence": p.licence, "sha256": pack_hash(p)}
                for p in self.engine.catalog.packs.values()
            ],
        }

    def _pack(self, request: Request, result: Result | None = None) -> dict[str, str]:
        from atelier.engine.text_embedding import find_text_pack

        catalog = self.engine.catalog
        name = str(getattr(request, "pack_id", "") or "")
        if result is not None and not name:
            parameters = getattr(result, "parameters", None)
            name = str(
                getattr(result, "pack", "")
                or getattr(result, "pack_id", "")
                or (parameters.get("pack", "") if isinstance(parameters, dict) else "")
            )
        pack = catalog.packs.get(name)
        if pack is None and not name:
            if request.kind == "palette-text":
                pack = find_text_pack(catalog)
            elif request.kind in PACK_KIND:
                found = catalog.of_kind(PACK_KIND[request.kind])
                pack = found[0] if found else None
        return {"id": pack.id, "sha256": pack_hash(pack)} if pack is not None else {"id": name, "sha256": ""}

    async def render(self, job_id: str, request_data: Any) -> AsyncIterator[dict[str, Any]]:
        """The job's events, in order: started, progress..., then result or error (a cancel ends the stream)."""
        base = {"job": job_id, "host": self.host}
        try:
            request = decode_request(request_data)
        except AtelierError as exc:
            yield {**base, "event": "error", "error": encode_error(exc)}
            return
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = CancelToken()

        def post(kind: str, payload: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (kind, payload))

        def work() -> None:
            # The engine's generator blocks in native code; on its own thread the replica's event loop stays
            # free to see a cancel and pass it to the token at once.
            generator = self.engine.run(request, cancel)
            try:
                while True:
                    post("progress", next(generator))
            except StopIteration as stop:
                post("result", stop.value)
            except CancelledError:
                post("cancelled", None)
            except BaseException as exc:
                if cancel.cancelled:
                    post("cancelled", None)
                else:
                    if not isinstance(exc, AtelierError):
                        log.exception("Job %s failed", job_id)
                    post("error", exc)

        thread = threading.Thread(target=work, name=f"atelier-job-{job_id[:8]}", daemon=True)
        pack, device = self._pack(request), self._device()
        yield {**base, "event": "started", "kind": request.kind, "device": device, "pack": pack}
        thread.start()
        finished = False
        try:
            while True:
                kind, payload = await events.get()
                # Reports that piled up while the last one travelled go as their latest: a preview is the whole
                # picture or text so far, so nothing is lost, and a slow link never falls behind the engine
                # (each event is one hop through Ray; a lyric yields one per token).
                while kind == "progress" and not events.empty():
                    following = events.get_nowait()
                    if following[0] != "progress":
                        events.put_nowait(following)  # the job's end, the last event there is: it stays last
                        break
                    payload = following[1]
                if kind == "progress":
                    progress = encode_progress(payload)
                    yield {**base, "event": "progress", "progress": progress, "device": device, "pack": pack}
                    continue
                finished = True
                if kind == "result":
                    device, pack = self._device(payload.device), self._pack(request, payload)
                    yield {**base, "event": "result", "result": encode_result(payload), "device": device, "pack": pack}
                elif kind == "cancelled":
                    yield {**base, "event": "cancelled"}
                else:
                    yield {**base, "event": "error", "error": encode_error(payload), "device": device, "pack": pack}
                return
        finally:
            if not finished:
                cancel.cancel("cancelled by the client")
            # The replica takes its next job only once this one's thread has ended (one job at a time).
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(loop.run_in_executor(None, thread.join))


class Gateway:
    """The HTTP face: every call needs the bearer token; jobs stream NDJSON events; DELETE cancels."""

    def __init__(self, renderer: DeploymentHandle, token_digest: str, retry_after_s: int = 2) -> None:
        self.renderer = renderer
        self.streams = renderer.options(stream=True)
        self.token_digest = token_digest
        self.retry_after_s = retry_after_s
        self.jobs: dict[str, DeploymentResponseGenerator] = {}
        self.cancelled_early: OrderedDict[str, None] = OrderedDict()
        self.closing = False
        self.info: dict[str, Any] | None = None

    async def __call__(self, http: HttpRequest) -> Response:
        if not token_matches(http.headers.get("authorization"), self.token_digest):
            return JSONResponse(
                {"error": {"type": "AtelierError", "message": "A valid access token is needed."}},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="atelier"'},
            )
        path, method = http.url.path.rstrip("/"), http.method
        if path == "/v1/packs" and method == "GET":
            return JSONResponse(await self.server_info())
        if path == "/v1/jobs" and method == "POST":
            return await self._submit(http)
        if path.startswith("/v1/jobs/") and method == "DELETE":
            return JSONResponse({"cancelled": self.cancel(path.rsplit("/", 1)[-1])})
        return JSONResponse({"error": {"type": "AtelierError", "message": f"No {method} {path} here."}}, 404)

    async def server_info(self) -> dict[str, Any]:
        if self.info is None:  # asked once (at start-up by `atelier serve`): a busy replica would make it wait
            self.info = await self.renderer.packs.remote()
        return self.info

    def cancel(self, job_id: str) -> bool:
        generator = self.jobs.get(job_id)
        if generator is None:
            # The DELETE can overtake its own POST: remember it, so the job is cancelled as it arrives.
            self.cancelled_early[job_id] = None
            while len(self.cancelled_early) > REMEMBERED_CANCELS:
                self.cancelled_early.popitem(last=False)
            return False
        generator.cancel()
        return True

    def stop(self, drain: bool) -> int:
        """Refuse new jobs (503); cancel the running ones unless draining. How many are still running."""
        self.closing = True
        if not drain:
            for generator in list(self.jobs.values()):
                generator.cancel()
        return len(self.jobs)

    def running(self) -> int:
        return len(self.jobs)

    def _busy(self, message: str) -> Response:
        return JSONResponse(
            {"error": {"type": "AtelierError", "message": message}},
            status_code=503,
            headers={"Retry-After": str(self.retry_after_s)},
        )

    async def _submit(self, http: HttpRequest) -> Response:
        if self.closing:
            return self._busy("The render server is shutting down.")
        length = http.headers.get("content-length", "")
        if not length.isdigit():  # the size is checked before the body is read, so it must be given
            return JSONResponse({"error": {"type": "AtelierError", "message": "Content-Length is needed."}}, 411)
        if int(length) > MAX_BODY_BYTES:
            return JSONResponse({"error": {"type": "AtelierError", "message": "The request is too large."}}, 413)
        try:
            data = json.loads(await http.body())
            job_id = data.get("id", "") if isinstance(data, dict) else ""
            if not isinstance(job_id, str) or not JOB_ID.match(job_id):
                raise WireError("The request has no job id (32 hex digits).")
        except (ValueError, RecursionError, WireError) as exc:  # RecursionError: a body nested 100k deep
            error = exc if isinstance(exc, WireError) else WireError("The request body is not JSON.")
            return JSONResponse({"error": encode_error(error)}, status_code=400)
        if job_id in self.jobs:
            return JSONResponse({"error": {"type": "AtelierError", "message": f"Job {job_id} exists."}}, 409)
        generator = self.streams.render.remote(job_id, data.get("request"))
        assert isinstance(generator, DeploymentResponseGenerator)  # a stream=True handle's answer
        first = asyncio.ensure_future(generator.__anext__())
        await asyncio.wait({first}, timeout=QUEUED_NOTICE_S)
        if first.done() and isinstance(first.exception(), BackPressureError):
            return self._busy("Every replica's queue is full.")
        self.jobs[job_id] = generator
        if job_id in self.cancelled_early:
            del self.cancelled_early[job_id]
            generator.cancel()
        return StreamingResponse(self._stream(job_id, generator, first), media_type="application/x-ndjson")

    async def _stream(
        self, job_id: str, generator: DeploymentResponseGenerator, first: asyncio.Future[Any]
    ) -> AsyncIterator[bytes]:
        ended = False
        try:
            if not first.done():
                yield _line({"event": "queued", "job": job_id})
            try:
                event = await first
                yield _line(event)
                async for event in generator:
                    yield _line(event)
                ended = True
            except (RequestCancelledError, asyncio.CancelledError) as exc:
                ended = True
                yield _line({"event": "cancelled", "job": job_id})
                if isinstance(exc, asyncio.CancelledError) and not generator.cancelled():
                    raise  # this stream itself was cancelled (the client left): the finally cancels the job
            except StopAsyncIteration:
                ended = True
            except BackPressureError:
                ended = True
                yield _line({"event": "error", "job": job_id, "error": encode_error(AtelierError("Server busy."))})
            except Exception as exc:  # a replica that died mid-job: the client gets a line, the log the details
                ended = True
                log.exception("Job %s failed in the gateway", job_id)
                yield _line({"event": "error", "job": job_id, "error": encode_error(exc)})
        finally:
            self.jobs.pop(job_id, None)
            if not ended:
                generator.cancel()


def build_app(options: ServerOptions) -> Any:
    """The bound application `serve.run` deploys: Gateway -> Renderer x replicas."""
    renderer_config: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": options.cpus_per_replica, "num_gpus": options.gpus_per_replica},
        "max_ongoing_requests": 1,
        "max_queued_requests": options.queue_limit,
        "graceful_shutdown_wait_loop_s": 0.5,
        "graceful_shutdown_timeout_s": 3.0,
    }
    if options.max_replicas > options.replicas:
        renderer_config["autoscaling_config"] = {
            "min_replicas": options.replicas,
            "max_replicas": options.max_replicas,
            "target_ongoing_requests": 1,
            "upscale_delay_s": 5.0,
            "downscale_delay_s": 120.0,
        }
    else:
        renderer_config["num_replicas"] = options.replicas
    renderer: Any = serve.deployment(Renderer, name="Renderer", **renderer_config)
    # One gateway: a DELETE must reach the gateway that holds the job's stream. Streams cost it no CPU.
    gateway: Any = serve.deployment(
        Gateway,
        name="Gateway",
        num_replicas=1,
        ray_actor_options={"num_cpus": 0},
        max_ongoing_requests=1000,
        graceful_shutdown_timeout_s=2.0,
    )
    return gateway.bind(renderer.bind(options.settings), options.token_digest, options.retry_after_s)


def options_record(options: ServerOptions) -> dict[str, Any]:
    """The options as printed by `atelier serve --json` (the token digest left out)."""
    record = asdict(options)
    record.pop("token_digest")
    record.pop("settings")
    return record
