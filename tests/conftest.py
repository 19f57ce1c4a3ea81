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
from typing import Any

import pytest

from rag.settings import DEFAULT_CORPUS

# The app is up when it answers (or has exited): this only bounds a hang. Loading the models takes ~40 s on a
# quiet 2-core machine and several minutes on one shared with other work.
APP_START_SECONDS = 600
CHROMIUM = Path(os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium"))

# Tests using these fixtures load a real model, start the app or a browser: marked slow when collected
SLOW_FIXTURES = {"embedder", "seed_rag", "seed_index", "app_index", "browser"}
_running = {"slow": True, "test": ""}  # the test being set up or run: may it load a real model?


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _running.update(slow=item.get_closest_marker("slow") is not None, test=item.nodeid)


@pytest.fixture(scope="session", autouse=True)
def real_models_only_in_slow_tests() -> Iterator[None]:
    """A test not marked slow that loads a real embedder or generator fails, naming itself: the fast suite
    (`pytest -m "not slow"`) stays fast because nothing in it can load a model unnoticed."""
    from rag.models import embed, generate

    def guarded(cls: type, what: str) -> Any:
        original = cls.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)  # a failing load (a test of its error) fails as it would
            if not _running["slow"]:
                raise RuntimeError(f"{_running['test']} loads a real {what}: mark it @pytest.mark.slow")

        return original, init

    patched = [
        (cls, *guarded(cls, what))
        for cls, what in (
            (embed.Embedder, "embedder"),
            (generate.LlamaCppGenerator, "generator"),
            (generate.TransformersGenerator, "generator"),
        )
    ]
    for cls, _, init in patched:
        cls.__init__ = init
    yield
    for cls, original, _ in patched:
        cls.__init__ = original


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Accounts and kept conversations (RAG_DATA_DIR) in a temporary folder, for this process and the apps it
    starts: no test writes to the repository's data/."""
    folder = tmp_path_factory.mktemp("data")
    before = os.environ.get("RAG_DATA_DIR")
    os.environ["RAG_DATA_DIR"] = str(folder)
    yield folder
    if before is None:
        del os.environ["RAG_DATA_DIR"]
    else:
        os.environ["RAG_DATA_DIR"] = before


@pytest.fixture
def fake_embedder() -> Any:
    """A deterministic stand-in for the embedder (tests/fakes.py): the answer path's rules run in the fast suite."""
    from fakes import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder, loaded once for the whole run."""
    from rag.models.embed import Embedder

    return Embedder("minilm")


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
        deadline = time.time() + APP_START_SECONDS
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
            pytest.fail(f"the app did not start within {APP_START_SECONDS} s: {log.read_text()[-2000:]}")
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` (the README's test command does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
