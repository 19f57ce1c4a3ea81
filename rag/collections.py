"""Named collections: several indexes side by side, each answered by its own pipeline over the same models.

"default" is index/ (built from the shipped corpus when missing); any other NAME is collections_dir/NAME/index,
made by `rag index PATH --collection NAME`. Every face picks one by name: the CLI's --collection, the chat
page's menu, the OpenAI-compatible API's model id, the MCP tools' `collection` argument.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.pipeline import RAG
from rag.settings import COLLECTION_NAME, DEFAULT_COLLECTION, PathSettings, collection_folder
from rag.store.index import MANIFEST


class UnknownCollectionError(RagError):
    pass


@dataclass
class CollectionInfo:
    name: str
    index_dir: str
    built: bool  # False: no index saved yet ("default" is then built from the corpus on first use)
    documents: int
    chunks: int
    updated: float | None  # when its index was last saved (Unix time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collection_names(paths: PathSettings) -> list[str]:
    """The "default" collection, then every collection with a saved index under collections_dir, by name."""
    names = [DEFAULT_COLLECTION]
    if paths.collections_dir.is_dir():
        names += sorted(
            folder.name
            for folder in paths.collections_dir.iterdir()
            if folder.name != DEFAULT_COLLECTION
            and COLLECTION_NAME.fullmatch(folder.name)
            and (folder / "index" / MANIFEST).is_file()
        )
    return names


def describe(name: str, index_dir: Path) -> CollectionInfo:
    """What a collection holds, read from its manifest alone (no model loads)."""
    manifest = index_dir / MANIFEST
    if not manifest.is_file():
        return CollectionInfo(name, str(index_dir), False, 0, 0, None)
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        documents = data["documents"]
        chunks = sum(len(entry["chunk_ids"]) for entry in documents.values())
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RagError(f"collection '{name}': damaged index at {index_dir} ({error}); rebuild it") from None
    return CollectionInfo(name, str(index_dir), True, len(documents), chunks, data.get("updated"))


class Collections:
    """The pipelines of every collection, made on first use from one base pipeline, sharing its loaded
    embedder and generator (so a second collection costs its index, not another model)."""

    def __init__(self, base: RAG) -> None:
        self.base = base
        self.default = base.settings.paths.collection
        self._pipelines: dict[str, RAG] = {self.default: base}  # the base keeps its own --index, if given
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Looked up on every call, so a collection indexed while serving shows up."""
        found = collection_names(self.base.settings.paths)
        return [self.default, *[name for name in found if name != self.default]]

    def index_dir(self, name: str) -> Path:
        if name in self._pipelines:
            folder = self._pipelines[name].settings.paths.index_dir
            assert folder is not None
            return folder
        return collection_folder(name, self.base.settings.paths.collections_dir)

    def get(self, name: str | None = None) -> RAG:
        """The pipeline of a collection by name (None: the one served by default)."""
        name = name or self.default
        with self._lock:
            if name not in self._pipelines:
                if name not in self.names():
                    raise UnknownCollectionError(f"no collection '{name}' (the collections: {', '.join(self.names())})")
                _ = self.base.embedder, self.base.generator  # loaded once, here, so that the variant shares them
                self._pipelines[name] = self.base.variant(collection=name, index_dir=self.index_dir(name))
            return self._pipelines[name]

    def describe(self) -> list[CollectionInfo]:
        return [describe(name, self.index_dir(name)) for name in self.names()]
