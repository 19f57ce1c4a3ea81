"""How well the attribution check (rag/answering/attribution.py) finds an answer sentence that states as fact
what its source only reports or hedges, on hand-labelled pairs from public text (eval/attribution_pairs.jsonl:
SQuAD v1.1 dev articles 11-48, SciFact abstracts, news-style sentences; never the seed article).

Odd ids are the development half (rules may be looked at against it), even ids the held-out half: report that.

    python eval/attribution_check.py [--pairs eval/attribution_pairs.jsonl] [--errors]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.answering.attribution import dropped

HERE = Path(__file__).parent


def scores(pairs: list[dict]) -> dict[str, float | int]:
    """Precision and recall of flagging `dropped`, and how often `kept` / `none` pairs pass unflagged."""
    flagged = [dropped(p["answer"], p["source"]) is not None for p in pairs]
    truth = [p["label"] == "dropped" for p in pairs]
    hits = sum(f and t for f, t in zip(flagged, truth, strict=True))
    by_label = {
        label: [f for f, p in zip(flagged, pairs, strict=True) if p["label"] == label]
        for label in ("dropped", "kept", "none")
    }
    return {
        "pairs": len(pairs),
        "precision": round(hits / max(1, sum(flagged)), 3),
        "recall": round(hits / max(1, sum(truth)), 3),
        "kept passed": round(1 - sum(by_label["kept"]) / max(1, len(by_label["kept"])), 3),
        "none passed": round(1 - sum(by_label["none"]) / max(1, len(by_label["none"])), 3),
        "accuracy": round(sum(f == t for f, t in zip(flagged, truth, strict=True)) / max(1, len(pairs)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=HERE / "attribution_pairs.jsonl")
    parser.add_argument("--errors", action="store_true", help="print the development half's misjudged pairs")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    halves = {
        "development (odd ids)": [p for p in pairs if int(p["id"].split("-")[1]) % 2],
        "held out (even ids)": [p for p in pairs if not int(p["id"].split("-")[1]) % 2],
        "all": pairs,
    }
    print("| half | pairs | precision | recall | kept passed | none passed | accuracy |\n|---|---|---|---|---|---|---|")
    for name, half in halves.items():
        s = scores(half)
        print(f"| {name} | " + " | ".join(str(v) for v in s.values()) + " |")
    if args.errors:
        for p in halves["development (odd ids)"]:
            found = dropped(p["answer"], p["source"])
            if (found is not None) != (p["label"] == "dropped"):
                print(f"\n{p['id']} {p['label']} flagged={found}\n  S: {p['source']}\n  A: {p['answer']}")


if __name__ == "__main__":
    main()
