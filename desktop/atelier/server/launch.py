"""Starting and stopping the render server: Ray (started here, or joined with --address), Serve's HTTPS
proxy on --host, the application, and on SIGINT/SIGTERM a drain or cancel and a clean shutdown."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.core.errors import AtelierError
from atelier.core.settings import Settings
from atelier.server.app import ServerOptions, build_app
from atelier.server.security import TlsFiles, load_or_create_token, tls_files, token_digest

APP_NAME = "atelier"
START_TIMEOUT_S = 180.0
STOP_BUDGET_S = 10.0
# Passed to every Ray worker, so replicas find the same packs and caches as this process.
FORWARDED_ENV = (
    "ATELIER_CONFIG_DIR",
    "ATELIER_DATA_DIR",
    "ATELIER_CACHE_DIR",
    "ATELIER_MODELS",
    "ORT_DISABLE_TELEMETRY",
)


class ServerStartError(AtelierError):
    hint = "Run with --debug for details; Ray's own logs are under /tmp/ray/session_latest/logs."


@dataclass(frozen=True)
class LaunchOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    token_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    replicas: int = 1
    max_replicas: int = 0
    cpus_per_replica: float = 1.0
    gpus_per_replica: float = 0.0
    queue_per_replica: int = 4
    address: str = ""  # a running Ray cluster (`ray start --head` printed it); empty starts Ray here
    num_cpus: int | None = None  # CPUs of the Ray instance started here (None: all)
    object_store_mb: int = 256
    dashboard: bool = False


@dataclass
class RunningServer:
    url: str
    token: str
    token_file: Path
    token_created: bool
    tls: TlsFiles
    options: LaunchOptions
    started_ray: bool
    gateway: Any  # the DeploymentHandle of the Gateway
    info: dict[str, Any]

    def stop(self, drain_s: float = 0.0) -> float:
        """Drain for up to `drain_s` (new jobs get 503), cancel what is left, shut Serve and the Ray processes
        started here down. Returns the seconds it took; the port is free when it returns."""
        import ray
        from ray import serve

        began = time.monotonic()
        with contextlib.suppress(Exception):
            running = self.gateway.stop.remote(drain_s > 0).result(timeout_s=2.0)
            deadline = began + min(drain_s, STOP_BUDGET_S - 5.0)
            while running and time.monotonic() < deadline:
                time.sleep(0.2)
                running = self.gateway.running.remote().result(timeout_s=2.0)
            if running:
                running = self.gateway.stop.remote(False).result(timeout_s=2.0)
            wait_until = time.monotonic() + 1.5  # cancelled jobs stop within a step
            while running and time.monotonic() < wait_until:
                time.sleep(0.1)
                running = self.gateway.running.remote().result(timeout_s=2.0)
        with contextlib.suppress(Exception):
            serve.shutdown()
        if ray.is_initialized():
            ray.shutdown()
        return time.monotonic() - began


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start_server(options: LaunchOptions, settings: Settings) -> RunningServer:
    """Start (or join) Ray, deploy the application, and wait until a replica has answered."""
    import ray
    from ray import serve

    if not 1 <= options.port <= 65535:
        raise ServerStartError(f"Port {options.port} is not a TCP port.", "Give --port between 1 and 65535.")
    if options.replicas < 1 or options.queue_per_replica < 0 or options.gpus_per_replica < 0:
        raise ServerStartError("--replicas must be 1 or more; --queue and --gpus-per-replica 0 or more.", "")
    if not port_is_free(options.host, options.port):
        raise ServerStartError(
            f"Port {options.port} on {options.host} is already in use.", "Stop what uses it, or give another --port."
        )
    token, token_path, created = load_or_create_token(Path(options.token_file) if options.token_file else None)
    tls = tls_files(options.tls_cert or None, options.tls_key or None, options.host)
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    started_ray = False
    if not ray.is_initialized():
        common: dict[str, Any] = {
            "runtime_env": {"env_vars": env},
            "logging_level": logging.WARNING,
            "log_to_driver": False,
        }
        if options.address:
            ray.init(address=options.address, **common)
        else:
            # Every port of this Ray instance (GCS, raylet, object manager, dashboard and its job API) binds
            # to the loopback address; only Serve's proxy listens on --host.
            ray.init(
                num_cpus=options.num_cpus,
                include_dashboard=options.dashboard,
                dashboard_host="127.0.0.1",
                _node_ip_address="127.0.0.1",
                object_store_memory=options.object_store_mb << 20,
                **common,
            )
            started_ray = True
    server_options = ServerOptions(
        token_digest=token_digest(token),
        settings=dataclasses.asdict(settings),
        replicas=options.replicas,
        max_replicas=options.max_replicas,
        cpus_per_replica=options.cpus_per_replica,
        gpus_per_replica=options.gpus_per_replica,
        queue_per_replica=options.queue_per_replica,
    )
    # Serve's own start-up lines would say "ready at http://..." for a port that only speaks HTTPS.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    try:
        serve.start(
            proxy_location="HeadOnly",
            http_options={
                "host": options.host,
                "port": options.port,
                "ssl_certfile": str(tls.cert),
                "ssl_keyfile": str(tls.key),
            },
        )
        gateway = serve.run(build_app(server_options), name=APP_NAME, route_prefix="/", blocking=False)
        info = gateway.server_info.remote().result(timeout_s=START_TIMEOUT_S)
    except Exception as exc:
        with contextlib.suppress(Exception):
            serve.shutdown()
        if started_ray:
            ray.shutdown()
        raise ServerStartError(f"The render server did not start ({exc}).") from exc
    shown_host = options.host if options.host not in ("0.0.0.0", "::", "") else socket.gethostname()
    return RunningServer(
        url=f"https://{shown_host}:{options.port}",
        token=token,
        token_file=token_path,
        token_created=created,
        tls=tls,
        options=options,
        started_ray=started_ray,
        gateway=gateway,
        info=info,
    )


def wait_for_signal() -> str:
    """Block until SIGINT or SIGTERM; returns the signal's name."""
    received: list[str] = []
    stop = threading.Event()

    def handler(number: int, _frame: Any) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return received[0]
