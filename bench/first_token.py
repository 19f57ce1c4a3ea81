"""First token and total answer time over the seed gold questions: this checkout against another commit.

    python bench/first_token.py [--baseline REF] [--questions 12] [--rounds 2]

Each side answers the same questions in a warm process of its own (a git worktree of REF for the baseline,
PYTHONPATH pointing at it), in alternating rounds so that the shared machine's noise falls on both; prints
the medians and the ratios new / baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "seed_gold.jsonl"


def worker(count: int) -> None:
    """Answer the first `count` answerable seed questions; print their timings as one JSON line."""
    from rag import RAG

    questions = [
        row["question"]
        for row in map(json.loads, GOLD.read_text().splitlines())
        if row.get("answerable", True) and not row.get("history")
    ][:count]
    rag = RAG()
    rag.warm_up()
    rag.ask("Which agreement does Beijing honor?")  # the first answer pays for warming caches
    timings = [rag.ask(q).timings_ms for q in questions]
    print(json.dumps([{"first_token": t["first_token"], "total": t["total"]} for t in timings]))


def run_side(tree: Path, count: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(count)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1", help="git commit to compare with (default HEAD~1)")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            sides: dict[str, list[dict]] = {"baseline": [], "new": []}
            for _ in range(args.rounds):
                sides["baseline"] += run_side(baseline, args.questions)
                sides["new"] += run_side(ROOT, args.questions)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)
    medians = {
        side: {key: statistics.median(t[key] for t in rows) for key in ("first_token", "total")}
        for side, rows in sides.items()
    }
    for key in ("first_token", "total"):
        ratio = medians["new"][key] / medians["baseline"][key]
        print(
            f"{key:12s} p50 baseline {medians['baseline'][key]:8.0f} ms   new {medians['new'][key]:8.0f} ms   "
            f"new/baseline {ratio:.2f}  ({len(sides['new'])} answers a side)"
        )


if __name__ == "__main__":
    main()
