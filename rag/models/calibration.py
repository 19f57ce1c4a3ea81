"""Each model's calibration: where its fit lives, keyed by the fingerprint of the model it was made on.

A user's fits (`rag calibrate`) are kept in `cache_dir/calibration/`; those of the shipped models come with the
package (rag/data/calibration/). The user's is read first, so a user may refit a shipped model too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "calibration"
# A model with no fit: its P(Yes) is read as the model's own yes (0.5 and up), retrieval as the strictest
# shipped fit reads it; stricter and looser by 0.2 for the other points. Documented in docs/checks.md.
CONSERVATIVE = {
    "lenient": {"min_retrieval_score": 0.47, "min_answer_check": 0.3},
    "balanced": {"min_retrieval_score": 0.47, "min_answer_check": 0.5},
    "strict": {"min_retrieval_score": 0.47, "min_answer_check": 0.7},
}
MIN_SUPPORT = 0.41  # a property of the embedder (minilm), not of the generator: fitted once, shipped


def model_identity(generator: str, generator_url: str, runtime: str, dtype: str, embedder: str) -> dict[str, Any]:
    """What decides the numbers the checks read: the generator as it runs, and the embedder (retrieval and
    support are its cosines). A model server's model is named by its id (an Ollama tag names its quantisation);
    a local file or folder by its name and size."""
    served = bool(generator_url)
    identity: dict[str, Any] = {
        "generator": generator,
        "runs_on": "server" if served else runtime,
        "dtype": dtype if (not served and runtime == "transformers") else None,
        "embedder": embedder,
    }
    path = Path(generator).expanduser()
    if not served and path.is_file():
        identity |= {"generator": path.name, "bytes": path.stat().st_size}
    return identity


def fingerprint(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def describe(identity: dict[str, Any]) -> str:
    runs = identity["runs_on"] + (f" {identity['dtype']}" if identity.get("dtype") else "")
    return f"{identity['generator']} ({runs}) with embedder {identity['embedder']}"


@dataclass(frozen=True)
class Fit:
    """The operating points fitted for one model (the file `rag calibrate` writes)."""

    fingerprint: str
    points: dict[str, dict[str, Any]]  # strictness -> min_retrieval_score, min_answer_check, figures …
    path: Path
    data: dict[str, Any]

    def thresholds(self, strictness: str) -> dict[str, float]:
        point = self.points[strictness]
        return {
            "min_retrieval_score": point["min_retrieval_score"],
            "min_answer_check": point["min_answer_check"],
            "min_support": self.data.get("min_support", MIN_SUPPORT),
        }


def user_folder(cache_dir: Path) -> Path:
    return cache_dir / "calibration"


def load_fit(identity: dict[str, Any], cache_dir: Path) -> Fit | None:
    """The fit for this model: the user's, else the shipped one; None when it was never calibrated. A file that
    cannot be read is passed over (a later `rag calibrate` writes it anew)."""
    key = fingerprint(identity)
    for folder in (user_folder(cache_dir), SHIPPED):
        path = folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Fit(key, data["points"], path, data)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def save_fit(identity: dict[str, Any], data: dict[str, Any], folder: Path) -> Path:
    """Write a fit atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{fingerprint(identity)}.json"
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps({"model": identity, **data}, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path
