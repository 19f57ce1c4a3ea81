"""Windows and macOS: nothing POSIX-only on the way to an index. Each test runs a fresh Python in which `import
fcntl` fails, as it does on Windows; the writer lock then falls back to filelock's own, which must keep its rules:
one writer per index folder, and a writer that died holds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

NO_FCNTL = f"""
import sys
sys.modules["fcntl"] = None  # `import fcntl` now fails, as on Windows
sys.path.insert(0, {str(TESTS)!r})
import warnings
warnings.simplefilter("ignore")  # filelock says it has only its soft lock: that is the point
"""


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    script = NO_FCNTL + textwrap.dedent(code)
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_import_and_index_without_fcntl(tmp_path: Path):
    docs = tmp_path / "docs" / "birds"
    docs.mkdir(parents=True)
    (docs / "penguins.txt").write_text("Penguins live in the southern hemisphere and cannot fly.", encoding="utf-8")
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n", encoding="utf-8")
    child = """
        import json
        from pathlib import Path

        import rag
        from fakes import FakeEmbedder
        from rag.store.index import IndexBusyError, writer_lock

        docs, index = Path(sys.argv[1]), Path(sys.argv[2])
        pipeline = rag.RAG(index_dir=index).use(embedder=FakeEmbedder())
        report = pipeline.build([docs])
        top = pipeline.retrieve("Where do penguins live?", k=1)[0].chunk.source
        with writer_lock(index):
            try:
                with writer_lock(index):
                    second = "let in"
            except IndexBusyError:
                second = "refused"
        print(json.dumps({"documents": report.documents, "top": top, "second": second, "version": rag.__version__}))
    """
    said = json.loads(_finished(_python(child, str(tmp_path / "docs"), str(tmp_path / "index"))))
    assert said["documents"] == 2 and said["version"]
    assert said["top"] == "docs/birds/penguins.txt"  # '/' between folders, as the manifest keeps it everywhere
    assert said["second"] == "refused"


def test_a_writer_killed_without_fcntl_holds_the_index_no_more(tmp_path: Path):
    index = tmp_path / "index"
    holder = _python(
        """
        import time
        from pathlib import Path
        from rag.store.index import writer_lock

        with writer_lock(Path(sys.argv[1])):
            print("held", flush=True)
            time.sleep(300)
        """,
        str(index),
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n", holder.stderr
    second = """
        from pathlib import Path
        from rag.store.index import IndexBusyError, writer_lock

        try:
            with writer_lock(Path(sys.argv[1])):
                print("took it")
        except IndexBusyError as error:
            print(error)
    """
    try:
        assert "is being updated by another process" in _finished(_python(second, str(index)))
    finally:
        holder.kill()  # as a crash would: no release
        holder.communicate(timeout=60)
    assert _finished(_python(second, str(index))) == "took it\n"
