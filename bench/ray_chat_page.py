"""Does the chat page answer through Ray Serve replicas? N gradio_client questions (a new session each, a
scripted generator) against 1 and then 2 replicas on a local Ray: `python bench/ray_chat_page.py [N]`."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
import fakes
import ray
from fakes import ScriptedGenerator
from gradio_client import Client
from ray import cloudpickle, serve

from rag import RAG
from rag.scale import ray_serve
from rag.settings import DEFAULT_CORPUS, Settings

tmp = Path(tempfile.mkdtemp())
shutil.copytree(DEFAULT_CORPUS, tmp / "corpus")
RAG(index_dir=tmp / "index", corpus=[tmp / "corpus"]).build()
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
cloudpickle.register_pickle_by_value(fakes)
settings = Settings().with_overrides(index_dir=tmp / "index")
for replicas, port in ((1, 8711), (2, 8712)):
    ray_serve.start_replicas(
        settings,
        replicas=replicas,
        port=port,
        cpus_per_replica=0.25,
        generator=ScriptedGenerator("China labels them illegal economic migrants."),
    )
    ok, errors = 0, []
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            client.predict("Why does China treat defectors as economic migrants?", api_name="/ask")
            ok += 1
        except Exception as e:  # noqa: BLE001 - counted and shown
            errors.append(f"{type(e).__name__}: {str(e)[:120]}")
    print(f"replicas {replicas}: {ok} ok, {len(errors)} failed", errors, flush=True)
    serve.delete("rag")
    serve.shutdown()
ray.shutdown()
