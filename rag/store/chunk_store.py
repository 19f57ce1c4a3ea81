"""Chunks on disk, read when asked for: a million-chunk index opens without parsing a million lines.

chunks.<gen>.jsonl holds one chunk a line, in id order; chunks.<gen>.offsets.npy holds each line's
chunk id and byte offset, memory-mapped at open, so a chunk is one seek and one line away.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.types import Chunk


class SavedChunks(Mapping[int, Chunk]):
    """The chunks of a saved generation, read-only. Readers of an older generation keep their open
    file after a writer deletes it (POSIX), so answers in flight are never cut off."""

    def __init__(self, path: Path, offsets_path: Path) -> None:
        table = np.load(offsets_path, mmap_mode="r")
        if table.ndim != 2 or table.shape[1] != 2:
            raise ValueError(f"{offsets_path.name} is not an offsets table")
        self._ids, self._starts = table[:, 0], table[:, 1]
        self._path = path
        self._file = open(path, "rb")  # noqa: SIM115 - held for the life of the object, closed by finalize
        weakref.finalize(self, self._file.close)
        if len(self._starts) and int(self._starts[-1]) >= path.stat().st_size:
            raise ValueError(f"{path.name} is shorter than its offsets table")
        self._lock = threading.Lock()  # one seek-and-read at a time on the shared handle

    def __getitem__(self, chunk_id: int) -> Chunk:
        position = int(np.searchsorted(self._ids, chunk_id))
        if position >= len(self._ids) or int(self._ids[position]) != chunk_id:
            raise KeyError(chunk_id)
        with self._lock:
            self._file.seek(int(self._starts[position]))
            line = self._file.readline()
        try:
            return Chunk(**json.loads(line))
        except (ValueError, TypeError) as error:
            message = f"index file {self._path} is damaged ({error}); rebuild it with: rag index --rebuild"
            raise RagError(message) from None

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids.tolist())

    def __len__(self) -> int:
        return len(self._ids)


def write_chunks(chunks: Mapping[int, Chunk], path: Path, offsets_path: Path) -> None:
    """Write the chunks in id order, and the table that finds each line."""
    table = np.zeros((len(chunks), 2), dtype=np.int64)
    with open(path, "wb") as handle:
        for row, chunk_id in enumerate(sorted(chunks)):
            table[row] = chunk_id, handle.tell()
            handle.write((json.dumps(chunks[chunk_id].to_dict(), ensure_ascii=False) + "\n").encode("utf-8"))
    with open(offsets_path, "wb") as handle:
        np.save(handle, table)


def read_all_chunks(path: Path) -> dict[int, Chunk]:
    """Every chunk, read in one pass: a small index at open, any index before a writer changes it, and
    an index saved before offsets tables existed."""
    chunks: dict[int, Chunk] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            chunk = Chunk(**json.loads(line))
            chunks[chunk.id] = chunk
    return chunks
