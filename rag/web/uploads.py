"""Files added from the browser: each is checked on its own, kept beside the index, then indexed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from gradio.utils import get_upload_folder

from rag.errors import RagError
from rag.ingest.load import READERS, LoadError, file_info
from rag.pipeline import RAG


def upload_folder(rag: RAG) -> Path:
    """Uploaded files are kept beside the index, so later updates keep them (and a user can see them)."""
    return rag.settings.paths.index_dir.resolve().parent / "uploads"


def uploaded_only(paths: list[str]) -> list[str]:
    """The paths, if every one is a file the browser uploaded (Gradio's upload folder); a request naming any
    other file of the machine is refused whole (Gradio refuses it first; this does not rely on that)."""
    folder = Path(get_upload_folder()).resolve()
    for path in paths:
        if not Path(path).resolve().is_relative_to(folder):
            raise RagError(f"{Path(path).name} was not uploaded: only uploaded files can be added")
    return paths


def add_uploads(rag: RAG, paths: list[str], progress: bool = False) -> list[list[str]]:
    """Check each upload's type and size, copy the good ones into the upload folder, index that folder.
    One row per file: name, result (added, updated, unchanged, skipped) and the reason when skipped."""
    rag.refuse_if_read_only()  # before a file is copied into the shared uploads folder
    rows: list[list[str]] = []
    folder = upload_folder(rag)
    limit = int(rag.settings.ingest.max_file_mb * 1024 * 1024)
    copied: dict[str, str] = {}
    for path in map(Path, paths or []):
        name = path.name.lstrip(".") or "upload"
        if path.suffix.lower() not in READERS:
            supported = ", ".join(sorted(READERS))
            rows.append([name, "skipped", f"unsupported type '{path.suffix}' (supported: {supported})"])
            continue
        try:
            file_info(path, limit)  # the same size and file-kind checks as `rag index`
        except LoadError as error:
            rows.append([name, "skipped", str(error).split(": ", 1)[-1]])
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        digest = _digest(path)
        if target.exists() and _digest(target) != digest:  # another file of that name: keep both
            target = folder / f"{target.stem}-{digest[:8]}{target.suffix}"
        shutil.copyfile(path, target)
        copied[str(target.resolve())] = name
    if copied:
        report = rag.build([folder], progress=progress)
        base = rag.settings.paths.index_dir.resolve().parent
        outcome = {
            str((base / s).resolve()): kind for kind in ("added", "updated", "unchanged") for s in getattr(report, kind)
        }
        reasons = {str((base / item["path"]).resolve()): item["error"] for item in report.skipped}
        for target, name in copied.items():
            if target in reasons:
                rows.append([name, "skipped", reasons[target].split(": ", 1)[-1]])
                Path(target).unlink(missing_ok=True)  # not kept: it would be reported again on every update
            else:
                rows.append([name, outcome.get(target, "unchanged"), ""])
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
