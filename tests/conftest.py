"""Shared fixtures. The real default models are used: they ship as wheels, no network needed."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import DEFAULT_CORPUS

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the shipped corpus in a temporary folder (the committed index/ stays untouched)."""
    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(DEFAULT_CORPUS, root / "corpus")
    return root / "index"


@pytest.fixture(scope="session")
def seed_rag(seed_index: Path):
    from rag import RAG

    rag = RAG(index_dir=seed_index, corpus=[seed_index.parent / "corpus"])
    rag.build()
    return rag


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(index: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python app.py` on a free loopback port over `index`, stopped on exit; yields its URL.
    `env`: variables set for it (RAG_COLLECTIONS_DIR, say)."""
    port = free_port()
    log = index.parent / f"app-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "app.py", "--index", str(index), "--port", str(port), *flags],
        cwd=Path(__file__).resolve().parents[1],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers (a login page answers 401 to some paths)
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"the app exited: {log.read_text()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail(f"the app did not start within 180 s: {log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def app_index(seed_index: Path, seed_rag, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed index and corpus: uploads in these tests must not change the shared one."""
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(seed_index.parent, root, dirs_exist_ok=True)
    return root / "index"
