"""The engine's single entry point: `Engine.run(request, cancel)` yields Progress and returns a Result.

Tasks register themselves per request type (`@task(LineArtRequest)`) in modules under
`atelier.engine.tasks`, which are all imported here, so adding a task touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError, InvalidRequestError, PackNotFoundError
from atelier.core.progress import Progress
from atelier.core.requests import Request, Result
from atelier.core.settings import Settings
from atelier.engine.packs import Pack, PackCatalog, discover, search_roots
from atelier.engine.sessions import PoolConfig, SessionPool

TaskGenerator = Generator[Progress, None, Result]
TaskFunction = Callable[[Any, "TaskContext"], TaskGenerator]
R = TypeVar("R", bound=Request)

_TASKS: dict[type[Request], TaskFunction] = {}


def task(request_type: type[R]) -> Callable[[Callable[[R, TaskContext], TaskGenerator]], Any]:
    def register(function: Callable[[R, TaskContext], TaskGenerator]) -> Any:
        _TASKS[request_type] = function
        return function

    return register


def _load_tasks() -> None:
    import atelier.engine.tasks as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


@dataclass
class TaskContext:
    cancel: CancelToken
    pool: SessionPool
    catalog: PackCatalog
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)

    def pack_of_kind(self, kind: str, pack_id: str = "") -> Pack:
        if pack_id:
            pack = self.catalog.get(pack_id)
            if pack.kind != kind:
                raise InvalidRequestError(f"Pack '{pack_id}' is a {pack.kind} pack, not a {kind} pack.")
            return pack
        packs = self.catalog.of_kind(kind)
        if not packs:
            raise PackNotFoundError(f"No {kind} model pack is installed.")
        return packs[0]


class Engine:
    """Holds the pack catalog and session pool; one per process (the worker owns it)."""

    def __init__(self, settings: Settings | None = None, pool: SessionPool | None = None) -> None:
        self.settings = settings or Settings()
        self.pool = pool or SessionPool(config=self._pool_config)
        self.catalog = discover(search_roots(self.settings.models_folder))
        _load_tasks()

    def _pool_config(self) -> PoolConfig:
        s = self.settings
        return PoolConfig(device=s.device, threads=s.threads, memory_budget_bytes=s.memory_budget_mb << 20)

    def update_settings(self, settings: Settings) -> None:
        changed_device = (settings.device, settings.threads) != (self.settings.device, self.settings.threads)
        self.settings = settings
        if changed_device:
            self.pool.unload_all()  # sessions are bound to their provider and thread count
        self.rescan()

    def rescan(self) -> None:
        self.catalog = discover(search_roots(self.settings.models_folder))

    def run(self, request: Request, cancel: CancelToken) -> Generator[Progress, None, Result]:
        function = _TASKS.get(type(request))
        if function is None:
            raise InvalidRequestError(f"No engine task handles '{request.kind}' requests.")
        context = TaskContext(cancel=cancel, pool=self.pool, catalog=self.catalog, settings=self.settings)
        started = time.perf_counter()
        cancel.raise_if_cancelled()
        generator = function(request, context)
        try:
            while True:
                progress = next(generator)
                cancel.raise_if_cancelled()
                yield progress
                cancel.raise_if_cancelled()
        except StopIteration as stop:
            result = stop.value
        if not isinstance(result, Result):
            raise AtelierError(f"The '{request.kind}' task returned no result (internal error).")
        return replace(result, seconds=time.perf_counter() - started)

    def run_to_end(self, request: Request, cancel: CancelToken | None = None) -> Result:
        """Run without a worker (CLI, tests): drain the progress and return the result."""
        generator = self.run(request, cancel or CancelToken())
        while True:
            try:
                next(generator)
            except StopIteration as stop:
                return stop.value
