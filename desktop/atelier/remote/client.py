"""A studio render server's client with the local Engine's `run`/`run_to_end`, on the standard library alone.

http.client and ssl, not httpx: the desktop bundle then needs no web library at all, and pinning a
self-signed certificate by its SHA-256 (checked right after the TLS handshake, before the token is sent)
is a few lines either way. Ray is never imported here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import threading
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from atelier.core.cancel import CancelToken
from atelier.core.devices import provider_label
from atelier.core.errors import AtelierError, CancelledError, InputFileError
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.remote.wire import (
    WIRE_VERSION,
    WireError,
    decode_device,
    decode_error,
    decode_progress,
    decode_result,
    encode_request,
)

DEFAULT_PORT = 8765
TOKEN_ENV = "ATELIER_TOKEN"
CONNECT_TIMEOUT_S = 5.0
# The stream is quiet while one step runs (one diffusion step of a large picture on a CPU replica).
READ_TIMEOUT_S = 600.0
CANCEL_TIMEOUT_S = 3.0
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
QUEUED_MESSAGE = "Waiting for a free replica on the render server"


class ServerUnreachableError(AtelierError):
    hint = "Check the address and that `atelier serve` is running there (and that no firewall blocks the port)."


class ServerRefusedError(AtelierError):
    """The server answered 401: no token, or not its token."""

    hint = "Use the token the server wrote (it prints the file's path) with --token-file, or set ATELIER_TOKEN."


class CertificateError(AtelierError):
    """The server's certificate is not the pinned one, or no fingerprint was given for an unsigned one."""

    hint = "Give --fingerprint the SHA-256 that `atelier serve` printed when it started."


class ServerBusyError(AtelierError):
    """503: every replica's queue is full."""

    hint = "Try again in a moment, or start the server with more --replicas."

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Failures of the connection itself (the job never ran there): the app runs the job locally instead.
CONNECTION_ERRORS = (ServerUnreachableError, ServerRefusedError, CertificateError, ServerBusyError)


@dataclass(frozen=True)
class RemoteDeviceInfo(DeviceInfo):
    """A device on a render server: the status bar and Jobs dock say "GPU (CUDA) on studio-gpu-1"."""

    host: str = ""

    @property
    def label(self) -> str:
        return f"{provider_label(self.provider)} on {self.host}" if self.host else provider_label(self.provider)

    def describe(self) -> str:
        text = f"Running on {self.label}"
        if self.fallbacks:
            text += " (fell back: " + "; ".join(self.fallbacks) + ")"
        return text


def normalise_fingerprint(text: str) -> str:
    """64 hex digits from what a person pastes: colons, spaces and case do not matter."""
    cleaned = re.sub(r"[\s:]", "", text or "").lower()
    if cleaned.startswith("sha256="):
        cleaned = cleaned[len("sha256=") :]
    if not _HEX64.match(cleaned):
        raise CertificateError(
            f"'{text}' is not a SHA-256 fingerprint (64 hex digits, colons optional).",
            "Copy the fingerprint exactly as `atelier serve` printed it.",
        )
    return cleaned


def read_token(token_file: str = "") -> str:
    """The access token from a file (first line), or ATELIER_TOKEN; a clear error when there is none."""
    if token_file:
        path = Path(token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip().splitlines()[0].strip() if path.stat().st_size else ""
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise InputFileError(f"The token file {path} cannot be read ({exc}).", "Check the path.") from exc
        if not token:
            raise InputFileError(f"The token file {path} is empty.", "Copy the token file the server wrote.")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ServerRefusedError(
            "The render server needs an access token.",
            f"Give --token-file FILE (the server prints where it wrote the token) or set {TOKEN_ENV}.",
        )
    return token


class RenderServerClient:
    """One render server: `run(request, cancel)` yields Progress and returns the Result, as Engine.run does."""

    def __init__(self, url: str, token: str, fingerprint: str = "", connect_timeout_s: float = CONNECT_TIMEOUT_S):
        parts = urlsplit(url.strip() if "://" in url else f"https://{url.strip()}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerUnreachableError(
                f"'{url}' is not a server address.", "Give it as https://HOST:PORT, e.g. https://studio-gpu-1:8765."
            )
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORT
        self.token = token
        self.fingerprint = normalise_fingerprint(fingerprint) if fingerprint else ""
        self.connect_timeout_s = connect_timeout_s
        self.server_host = ""  # the machine that ran the last job, as the server names itself
        self.last_device: RemoteDeviceInfo | None = None  # where the server said the last job runs

    # -- connections -------------------------------------------------------------------------
    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self.secure:
            context = ssl.create_default_context()
            if self.fingerprint:  # pinned: the fingerprint is the trust, not a CA or the name
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            raise CertificateError(
                f"The certificate of {self.url} is not signed by a known authority ({exc.verify_message})."
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            connection.close()
            raise ServerUnreachableError(f"Cannot reach the render server {self.url} ({_reason(exc)}).") from exc
        if self.fingerprint:
            sock = connection.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
            seen = hashlib.sha256(der).hexdigest() if der else "none"
            if seen != self.fingerprint:
                connection.close()  # before anything, the token above all, is sent
                raise CertificateError(
                    f"The certificate of {self.url} does not match the pinned fingerprint (the server shows "
                    f"{_colons(seen)}, pinned {_colons(self.fingerprint)}).",
                    "Someone may be posing as the server: check the fingerprint `atelier serve` printed.",
                )
        return connection

    def _headers(self, body: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "X-Atelier-Wire": str(WIRE_VERSION)}
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def _request(self, method: str, path: str, body: bytes | None = None, timeout: float = 30.0) -> Any:
        connection = self._connect(min(timeout, self.connect_timeout_s))
        try:
            connection.sock.settimeout(timeout)
            connection.request(method, path, body=body, headers=self._headers(body is not None))
            response = connection.getresponse()
            data = response.read()
            _check_status(response, data, self.url)
            return json.loads(data) if data else {}
        except (OSError, http.client.HTTPException) as exc:
            raise ServerUnreachableError(f"The render server {self.url} stopped answering ({_reason(exc)}).") from exc
        except ValueError as exc:
            raise WireError(f"The render server {self.url} sent an answer that is not JSON.") from exc
        finally:
            connection.close()

    # -- the API -----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """GET /v1/packs: the server's machine, device and packs (each with its content hash)."""
        data = self._request("GET", "/v1/packs")
        if not isinstance(data, dict):
            raise WireError(f"The render server {self.url} sent an unexpected answer to /v1/packs.")
        self.server_host = str(data.get("server", {}).get("host", "")) or self.server_host
        return data

    def device(self) -> RemoteDeviceInfo:
        """Where the server's jobs run (its planned device), from /v1/packs."""
        data = self.info()
        server = data.get("server", {})
        return _remote_device(server.get("device"), str(server.get("host", "")))

    def cancel(self, job_id: str) -> None:
        self._request("DELETE", f"/v1/jobs/{job_id}", timeout=CANCEL_TIMEOUT_S)

    def run(self, request: Request, cancel: CancelToken) -> Generator[Progress, None, Result]:
        job_id = uuid.uuid4().hex
        body = json.dumps({"id": job_id, "request": encode_request(request)}).encode("utf-8")
        cancel.raise_if_cancelled()
        connection = self._connect(self.connect_timeout_s)
        cancellers: list[threading.Thread] = []

        def send_cancel() -> None:
            # On its own thread: cancel() is called from the GUI thread, which must not wait on the network.
            thread = threading.Thread(target=self._cancel_quietly, args=(job_id,), name="atelier-remote-cancel")
            thread.start()
            cancellers.append(thread)

        unsubscribe = cancel.on_cancel(send_cancel)
        try:
            try:
                connection.sock.settimeout(READ_TIMEOUT_S)
                connection.request("POST", "/v1/jobs", body=body, headers=self._headers(True))
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise ServerUnreachableError(f"The render server {self.url} did not answer ({_reason(exc)}).") from exc
            if response.status != 200:
                _check_status(response, response.read(), self.url)
            return (yield from self._events(response, cancel))
        finally:
            unsubscribe()
            connection.close()
            for thread in cancellers:
                thread.join(CANCEL_TIMEOUT_S + 1)

    def _events(self, response: http.client.HTTPResponse, cancel: CancelToken) -> Generator[Progress, None, Result]:
        host = ""
        while True:
            try:
                line = response.readline()
            except (OSError, http.client.HTTPException) as exc:
                if cancel.cancelled:
                    raise CancelledError(f"Job {cancel.reason}.") from exc
                raise ServerUnreachableError(
                    f"The render server {self.url} broke off the job ({_reason(exc)})."
                ) from exc
            if not line:
                if cancel.cancelled:
                    raise CancelledError(f"Job {cancel.reason}.")
                raise ServerUnreachableError(f"The render server {self.url} ended the job without a result.")
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise WireError(f"The render server {self.url} sent a line that is not JSON.") from exc
            if not isinstance(event, dict):
                raise WireError(f"The render server {self.url} sent a line that is not an event object.")
            kind = event.get("event")
            if "host" in event:
                host = self.server_host = str(event["host"])
            if "device" in event:
                self.last_device = _remote_device(event["device"], host)
            if kind == "progress":
                yield decode_progress(event.get("progress", {}))
            elif kind == "queued":  # every replica is busy: say so, or the job would look stuck
                yield Progress(0, 0, QUEUED_MESSAGE)
            elif kind == "result":
                result = decode_result(event.get("result"))
                sent = event.get("result")
                device = sent.get("device") if isinstance(sent, dict) else None
                return dataclasses.replace(result, device=_remote_device(device, host))
            elif kind == "error":
                raise decode_error(event.get("error"))
            elif kind == "cancelled":
                raise CancelledError(f"Job {cancel.reason if cancel.cancelled else 'cancelled on the server'}.")

    def _cancel_quietly(self, job_id: str) -> None:
        # The job's own stream reports how it ended; a lost cancel also ends the job when the stream closes.
        with contextlib.suppress(AtelierError):
            self.cancel(job_id)

    def run_to_end(self, request: Request, cancel: CancelToken | None = None) -> Result:
        """As Engine.run_to_end: drain the progress and return the result."""
        generator = self.run(request, cancel or CancelToken())
        while True:
            try:
                next(generator)
            except StopIteration as stop:
                return stop.value


def _remote_device(value: Any, host: str) -> RemoteDeviceInfo:
    device = decode_device(value)
    return RemoteDeviceInfo(device.provider, device.requested, device.fallbacks, host=host)


def _check_status(response: http.client.HTTPResponse, data: bytes, url: str) -> None:
    status = response.status
    if status == 200:
        return
    try:
        error = json.loads(data).get("error") if data else None
    except (ValueError, AttributeError):
        error = None
    if status == 401:
        raise ServerRefusedError(f"The render server {url} refused the access token.")
    if status == 503:
        retry = response.getheader("Retry-After") or "1"
        try:
            seconds = float(retry)
        except ValueError:
            seconds = 1.0
        raise ServerBusyError(f"The render server {url} is busy (every queue is full).", seconds)
    if error is not None:
        raise decode_error(error)
    raise AtelierError(f"The render server {url} answered {status} {response.reason}.")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


def _colons(hexdigest: str) -> str:
    return ":".join(hexdigest[i : i + 2] for i in range(0, len(hexdigest), 2)).upper()
