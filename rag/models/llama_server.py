"""A shipped or local GGUF served by llama.cpp as an OpenAI-compatible server on loopback, in its own process:
what the tests and benchmarks of the model-server generator talk to, and a way to share one loaded model.

    python -m rag.models.llama_server --model smollm2 [--port 0] [--api-key KEY]

Prints `listening on URL` (the API base, …/v1) once it accepts requests, then serves until stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from rag.models.generate import llama_params
from rag.models.weights import resolve_generator
from rag.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="a shipped name (qwen-1.5b, smollm2, …) or a .gguf file")
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    parser.add_argument("--alias", default="", help="the name it serves the model as (default: --model)")
    parser.add_argument("--api-key", default=os.environ.get("RAG_GENERATOR_API_KEY", ""))
    parser.add_argument("--threads", type=int, default=0, help="0: the threads setting")
    parser.add_argument("--context", type=int, default=0, help="0: the context_tokens setting")
    args = parser.parse_args()

    import xllamacpp

    settings = Settings()
    models = settings.models
    source = resolve_generator(args.model, settings.paths.cache_dir)
    params = llama_params(
        source, args.threads or models.threads, args.context or models.context_tokens, models.prompt_cache_mb
    )
    params.model_alias = {args.alias or args.model}
    params.port = args.port
    if args.api_key:
        params.api_keys = [args.api_key]
    server = xllamacpp.Server(params)
    print(f"listening on {server.listening_address}/v1", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
