"""Past one machine, on Ray (the optional `ray` extra): distributed ingestion (ray_ingest) and serving
replicas (ray_serve). Nothing here is imported unless asked for, so `rag` works without Ray installed."""

from __future__ import annotations

import os
from typing import Any

from rag.errors import RagError

MISSING = 'Ray is not installed: pip install -e ".[ray]"'


def require_ray() -> Any:
    """The `ray` module, or a one-line error a user can act on."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home (and no prompt)
    try:
        import ray
    except ImportError:
        raise RagError(MISSING) from None
    return ray


def connect(address: str | None = None) -> Any:
    """Join the cluster at `address` ("auto": the one `ray start` made on this machine), or start a local
    one when None; reuse the connection when this process already has one (tests, a notebook)."""
    ray = require_ray()
    if not ray.is_initialized():
        # workers must import `rag` the same way as this process: on a real cluster every node installs it
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    return ray
