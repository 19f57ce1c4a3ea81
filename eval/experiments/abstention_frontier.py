"""How far abstention alone can go: the trade-off every threshold pair allows, from recorded checks.

    python eval/experiments/abstention_frontier.py eval/results/squad2-tune eval/results/squad2-test

Reads `rag eval --every-check` reports (as eval/fit_abstention.py does) and prints, per report: the ceiling
(answerable questions whose supported sentences hold a gold answer when no threshold abstains), and for each
level of right answers kept, the most unanswerable questions abstained on by (a) the two thresholds in use
(retrieval, answer_check) over their grid, (b) one threshold on a weighted mean of the two values (the
combined check suggested by their AUCs). Issue 23's targets are 0.80 right and 0.75 abstained together.
Writes eval/results/abstention-frontier.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fit_abstention import GRID, load, outcome, table  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "abstention-frontier.md"
LEVELS = (0.75, 0.70, 0.65, 0.60, 0.55, 0.50)


def frontier(t: dict[str, np.ndarray]) -> dict[str, dict[float, tuple[float, str]]]:
    """For each level of `contains`, the best `abstained` each rule reaches at or above it, with its setting."""
    best: dict[str, dict[float, tuple[float, str]]] = {"two thresholds": {}, "weighted mean": {}}

    def keep(rule: str, figures: dict[str, float], setting: str) -> None:
        for level in LEVELS:
            if figures["contains"] >= level - 1e-9 and figures["abstained"] > best[rule].get(level, (-1, ""))[0]:
                best[rule][level] = (figures["abstained"], setting)

    for r in GRID["retrieval"]:
        for c in GRID["answer_check"]:
            keep("two thresholds", outcome(t, {"retrieval": r, "answer_check": c}), f"r {r:.2f}, c {c:.2f}")
    for w in (0.3, 0.5, 0.7):
        combined = {**t, "retrieval": w * t["retrieval"] + (1 - w) * t["answer_check"]}
        for x in np.round(np.arange(0.0, 0.9, 0.005), 3):
            keep("weighted mean", outcome(combined, {"retrieval": x, "answer_check": 0.0}), f"w {w}, t {x:.3f}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+")
    args = parser.parse_args()
    lines = [
        "# Abstention alone: the trade-off the thresholds allow",
        "",
        f"`python eval/experiments/abstention_frontier.py {' '.join(map(str, args.reports))}`",
        "",
    ]
    for report in args.reports:
        rows, _ = load(report)
        t = table(rows)
        ceiling = outcome(t, {"retrieval": -1.0, "answer_check": 0.0})
        lines += [
            f"## {report.name}: {len(rows)} questions, {int(t['answerable'].sum())} answerable",
            "",
            f"No threshold abstaining: right {ceiling['contains']:.3f}, abstained {ceiling['abstained']:.3f} "
            "(the other checks still decide).",
            "",
            "| right at least | two thresholds: abstained | setting | weighted mean: abstained | setting |",
            "|---|---|---|---|---|",
        ]
        best = frontier(t)
        for level in LEVELS:
            two, mean = best["two thresholds"].get(level), best["weighted mean"].get(level)
            lines.append(
                f"| {level:.2f} | " + " | ".join(f"{b[0]:.3f} | {b[1]}" if b else "- | -" for b in (two, mean)) + " |"
            )
        lines.append("")
    text = "\n".join(lines)
    OUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
