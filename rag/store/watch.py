"""Watched folders: a library kept in step with its folders as files are added, changed, renamed and
deleted (`rag serve --watch`, `rag index PATH --watch`).

The file system's events come from watchfiles (Rust's notify: inotify on Linux, FSEvents, ReadDirectoryChanges),
grouped until the folders have been quiet for `quiet_ms` (a copy of 200 files is one update, not 200). Each
group runs the same update `rag index` does (Library.build over the watched folders): the writer lock, a
copy of the saved index, new and changed files embedded, missing ones dropped, a rename taking its vectors
by content hash, an atomic save and swap. Answers in flight keep the index they started on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.store.index import IndexBusyError
from rag.store.library import Library
from rag.types import IndexReport

log = logging.getLogger(__name__)

# Office writes "~$report.docx" beside a file it has open; editors write "report.md~" or "#report.md#"
_SCRATCH_PREFIXES = ("~$", ".#", "#")
_SCRATCH_SUFFIXES = ("~", ".swp", ".tmp", ".part", ".crdownload")


@dataclass
class WatchState:
    """What the watcher is doing, for the page's Documents panel: the files of the update running (empty
    when idle), how many updates ran, and the last update's report or error."""

    changed: list[str] = field(default_factory=list)
    updates: int = 0
    last: IndexReport | None = None
    error: str = ""

    def describe(self) -> str:
        if self.changed:
            shown = ", ".join(Path(p).name for p in self.changed[:5])
            more = f" and {len(self.changed) - 5} more" if len(self.changed) > 5 else ""
            return f"indexing {len(self.changed)} changed file(s): {shown}{more}"
        if self.error:
            return f"last update failed: {self.error}"
        if self.last is None:
            return "watching for changes"
        r = self.last
        return (
            f"up to date (last update: added {len(r.added)}, updated {len(r.updated)}, removed {len(r.removed)}, "
            f"skipped {len(r.skipped)})"
        )


class FolderWatch:
    """Watches `roots` and brings `library` up to date after each quiet group of changes, in a thread.
    `on_update` hears each report (the CLI prints it)."""

    def __init__(
        self,
        library: Library,
        roots: list[Path],
        quiet_ms: int = 300,
        on_update: Callable[[IndexReport], None] | None = None,
    ) -> None:
        if not roots:
            raise RagError("nothing to watch: give a folder (rag index PATH --watch) or index one first")
        missing = [str(root) for root in roots if not root.exists()]
        if missing:
            raise RagError(f"cannot watch {missing[0]}: no such file or folder")
        self.library, self.roots, self.quiet_ms, self.on_update = library, roots, quiet_ms, on_update
        self.state = WatchState()
        self._stop = threading.Event()
        self._updated = threading.Condition()
        self._thread: threading.Thread | None = None
        self._notify: Any = None
        self._index_folder = library.folder.resolve()

    def start(self) -> FolderWatch:
        """Start watching: the folders are watched when this returns (a change made after it is seen)."""
        # watchfiles' own RustNotify, which watchfiles.watch() wraps, made here rather than in the thread:
        # watch() registers the folders only once its thread first iterates, so a file saved just after
        # start() could be missed
        from watchfiles._rust_notify import RustNotify

        self._notify = RustNotify([str(root) for root in self.roots], False, False, 300, True, True)
        self._thread = threading.Thread(target=self.run, name="rag-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wanted(self, path: str) -> bool:
        """A change worth an update: not a hidden or scratch file, and not the index's own files (an index
        kept inside a watched folder would otherwise wake the watcher with every save)."""
        target = Path(path)
        if any(part.startswith(".") for part in target.parts[1:]):
            return False
        if target.name.startswith(_SCRATCH_PREFIXES) or target.name.endswith(_SCRATCH_SUFFIXES):
            return False
        resolved = target.resolve()
        return resolved != self._index_folder and self._index_folder not in resolved.parents

    def run(self) -> None:
        """Wait for changes and update, until stopped."""
        debounce = max(self.quiet_ms * 10, 1600)  # a long copy is still one update, at most this late
        with self._notify as notify:
            while not self._stop.is_set():
                # quiet for quiet_ms: the group of changes is over; "timeout" every second to see a stop
                changes = notify.watch(debounce, self.quiet_ms, 1000, self._stop)
                if changes in ("stop", "signal"):
                    return
                if changes != "timeout" and (changed := sorted({p for _, p in changes if self.wanted(p)})):
                    self.update(changed)

    def update(self, changed: list[str]) -> IndexReport | None:
        """One update of the index after `changed` (the paths that changed); retried once the writer lock
        is free when another process (rag index) holds it."""
        self.state.changed = changed
        try:
            for _ in range(60):
                try:
                    report = self.library.build(self.roots)
                    break
                except IndexBusyError:
                    if self._stop.wait(1.0):
                        return None
            else:
                raise RagError("the index stayed locked by another process for a minute")
        except RagError as error:
            self.state.error = str(error)
            log.warning("rag watch: %s", error)
            return None
        except Exception as error:  # noqa: BLE001 - the watcher must outlive one failed update
            self.state.error = f"{type(error).__name__}: {error}"
            log.exception("rag watch: update failed")
            return None
        finally:
            self.state.changed = []
        with self._updated:
            self.state.updates += 1
            self.state.last, self.state.error = report, ""
            self._updated.notify_all()
        if self.on_update is not None:
            self.on_update(report)
        return report

    def wait_for_update(self, after: int, timeout_s: float) -> bool:
        """Block until more than `after` updates have been made (state.updates), or `timeout_s` passes."""
        with self._updated:
            return self._updated.wait_for(lambda: self.state.updates > after, timeout=timeout_s)
