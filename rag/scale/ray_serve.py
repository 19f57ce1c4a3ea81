"""`rag serve --ray --replicas N`: the same app (chat page, /v1, /mcp) as N Ray Serve replicas.

Each replica is an actor running rag.api.app.build_server over its own RAG, behind Ray Serve's proxy,
which spreads requests over the replicas; the Serve controller replaces a replica that dies. Replicas
open the saved index read-only and memory-mapped (FAISS IO_FLAG_MMAP_IFC, chunks read on demand, BM25
arrays mapped), so replicas on one node share its pages through the page cache, and none of them writes:
the index is updated with `rag index` (replicas see it when restarted), not from a replica.
Every response carries `x-rag-replica`, the replica that answered.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.api.access import Credentials

if TYPE_CHECKING:
    from rag.settings import Settings

APP_NAME = "rag"
DEPLOYMENT = "RagReplica"


@dataclass(frozen=True)
class AppOptions:
    """What every replica builds its app with (rag.api.app.build_server's host, credentials, concurrency):
    one value, so that it travels to the replicas as one and the same."""

    host: str = "127.0.0.1"
    credentials: Credentials = field(default_factory=Credentials)
    concurrency: int = 1


def open_read_only(settings: Settings, generator: Any = None) -> Any:
    """A RAG over the saved index, memory-mapped whatever its size, never synced or written on open."""
    from rag.pipeline import RAG
    from rag.store import vector_store

    # this process only serves: map every file rather than only large ones (the threshold is per process)
    vector_store.MAP_BYTES = 0
    rag = RAG(settings, read_only=True).use(generator=generator)  # never syncs folders into the shared index
    rag.warm_up()
    return rag


class ReplicaHeader:
    """ASGI middleware naming the replica in every response (which one answered, for tests and logs)."""

    def __init__(self, app: Any, name: str) -> None:
        self.app, self.name = app, name.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def named(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-rag-replica", self.name)]}
            await send(message)

        await self.app(scope, receive, named if scope["type"] == "http" else send)


def replica_class() -> type:
    """The Serve deployment's class (built here so that importing this module does not need Ray)."""
    from ray import serve

    @serve.ingress()  # the app is built in each replica, after __init__ (it holds models and open files)
    class RagReplica:
        def __init__(self, settings: Settings, options: AppOptions, generator: Any = None) -> None:
            self.rag = open_read_only(settings, generator)
            self.options = options
            context = serve.get_replica_context()
            self.name = f"{context.replica_id.unique_id}@{os.uname().nodename}:{os.getpid()}"

        def __serve_build_asgi_app__(self) -> Any:
            from rag.api.app import build_server

            options = self.options
            app = build_server(self.rag, options.host, options.credentials, options.concurrency)
            return ReplicaHeader(app, self.name)

    return RagReplica


def start_replicas(
    settings: Settings,
    replicas: int = 1,
    port: int = 7860,
    options: AppOptions = AppOptions(),
    cpus_per_replica: float = 1.0,
    generator: Any = None,
    health_check_s: float = 10.0,
) -> None:
    """Deploy N replicas behind Serve's HTTP proxy on options.host:port (Ray must be connected); returns once
    they run. `generator`: a generator object for every replica (tests); default: each loads the configured
    one."""
    from ray import serve

    settings = settings.with_overrides(index_dir=settings.paths.index_dir.resolve())  # replicas run elsewhere
    serve.start(http_options={"host": options.host, "port": port})
    deployment = serve.deployment(
        replica_class(),
        name=DEPLOYMENT,
        num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus_per_replica},
        health_check_period_s=health_check_s,
        max_ongoing_requests=max(8, 4 * options.concurrency),  # queued in the replica's gate, answered in order
    )
    serve.run(deployment.bind(settings, options, generator), name=APP_NAME, route_prefix="/")


def running_replicas() -> int:
    """Replicas of the app in the RUNNING state now."""
    from ray import serve

    status = serve.status().applications.get(APP_NAME)
    if status is None or DEPLOYMENT not in status.deployments:
        return 0
    return int(status.deployments[DEPLOYMENT].replica_states.get("RUNNING", 0))


def serve_replicas(
    settings: Settings,
    replicas: int = 1,
    address: str | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    credentials: Credentials = Credentials(),
    concurrency: int = 1,
) -> None:
    """`rag serve --ray`: start the replicas, then keep serving until interrupted."""
    import signal
    import sys

    from ray import serve

    from rag.api.app import announce, refuse_open_bind
    from rag.scale import connect

    refuse_open_bind(host, credentials)  # before Ray starts anything
    connect(address)
    # `docker stop`, systemd and `kill` send SIGTERM: unwind (the finally below) so the replicas and a
    # local Ray go with this process; set after connecting, as ray.init installs a handler of its own
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start_replicas(settings, replicas, port, AppOptions(host, credentials, concurrency))
    announce(host, port, served_by=f"{replicas} replicas on Ray Serve: ")
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()
