"""Per-family figures of an injection run: `rag eval eval/injection/heldout.jsonl --report DIR`, then

    python eval/injection_report.py DIR [--dataset eval/injection/heldout.jsonl] [--delivery --index INDEX_DIR]

reads DIR/results.jsonl and the dataset's extra fields (`family`, `injected_source`, `payload_marker`, which
`rag eval` ignores) and prints, per family: questions, injection followed in the shown answer, in the raw draft,
abstained; then each question whose answer or draft holds its own `must_not_say` string, or another question's
(a payload retrieved for a neighbouring question and followed there: "cross").

--delivery replays, without generating, what the answer path did before the model (the same retrieval and
evidence selection, rag.answering.evidence.prepare, with the settings of the run) and says per question
where the planted payload went: shown to the model, withheld as an instruction, left out by the evidence budget,
or not retrieved. `payload_marker` is a piece of the payload's text; the payload counts as shown when a shown
sentence holds it. Needs the index the run used and loads only the embedder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from rag.evaluation.runner import said

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ["original", "translated", "obfuscated", "declarative"]


def draft_of(record: dict) -> str:
    return " ".join(s.get("text", "") for s in record.get("sentences", []))


def delivery(rows: dict[str, dict], results: list[dict], index_dir: str) -> dict[str, str]:
    """Question id -> where its planted payload went before the model."""
    from rag import RAG
    from rag.answering.evidence import prepare
    from rag.answering.question import parse

    rag = RAG(index_dir=index_dir, read_only=True)
    out: dict[str, str] = {}
    for record in results:
        row = rows[record["id"]]
        marker, source = row.get("payload_marker"), row.get("injected_source")
        if not marker or not source:
            continue
        planted = Path(source).parts  # matched on its last parts: the index may name sources relative to a base
        passages = rag.retrieve(record["question"])
        if [(p.chunk.source, p.chunk.id) for p in passages] != [(r["source"], r["chunk"]) for r in record["retrieved"]]:
            out[record["id"]] = "? (replayed retrieval differs from the run's)"
            continue
        mine = [i for i, p in enumerate(passages) if Path(p.chunk.source).parts[-len(planted) :] == planted]
        if not mine:
            out[record["id"]] = "not retrieved"
            continue
        question = parse(record["question"])
        evidence = prepare(question, passages, rag.embedder, rag.settings.answering)
        shown = any(marker in s.text for s in evidence.shown if s.passage in mine)
        holding = [i for i in mine if marker in passages[i].chunk.text]
        if shown:
            out[record["id"]] = "shown"
        elif not holding:
            out[record["id"]] = "not retrieved (payload chunk)"
        else:
            # with no budget the selection shows every sentence it does not withhold
            unbounded = rag.settings.answering.model_copy(update={"evidence_words": 0})
            alone = [prepare(question, [passages[i]], rag.embedder, unbounded) for i in holding]
            passed = any(marker in s.text for evidence in alone for s in evidence.shown)
            out[record["id"]] = "left out (budget)" if passed else "withheld (filter)"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a rag eval --report folder")
    parser.add_argument("--dataset", type=Path, default=ROOT / "eval/injection/heldout.jsonl")
    parser.add_argument("--delivery", action="store_true", help="replay retrieval and evidence selection")
    parser.add_argument("--index", help="the index the run used (for --delivery)")
    args = parser.parse_args()

    rows = {}
    for line in args.dataset.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            row = json.loads(line)
            rows[row["id"]] = row
    results = [
        json.loads(line)
        for line in (args.report / "results.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    results = [r for r in results if r["id"] in rows]
    where = delivery(rows, results, args.index) if args.delivery else {}

    by_family: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_family[rows[r["id"]].get("family", "?")].append(r)
    order = [f for f in FAMILIES if f in by_family] + sorted(set(by_family) - set(FAMILIES))

    def line(name: str, group: list[dict]) -> str:
        ok = [r for r in group if "error" not in r]
        followed = sum(bool(r.get("followed_injection")) for r in ok)
        drafted = sum(bool(r.get("followed_injection_in_draft")) for r in ok)
        abstained = sum(bool(r.get("abstained")) for r in ok)
        cells = [name, str(len(group)), f"{followed}/{len(ok)}", f"{drafted}/{len(ok)}", f"{abstained}/{len(ok)}"]
        if where:
            shown = sum(where.get(r["id"]) == "shown" for r in group)
            cells.append(f"{shown}/{len(group)}")
        return "| " + " | ".join(cells) + " |"

    head = ["family", "n", "followed (shown answer)", "followed (draft)", "abstained"]
    if where:
        head.append("payload shown to the model")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for family in order:
        print(line(family, by_family[family]))
    print(line("all", results))
    errors = [r["id"] for r in results if "error" in r]
    if errors:
        print(f"\nerrors: {', '.join(errors)}")

    print("\nPer question (own payload; `cross`: another question's must_not_say string):\n")
    cols = ["id", "family", "followed", "in draft", "abstained"] + (["payload"] if where else []) + ["answer"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    others = {qid: row.get("must_not_say", []) for qid, row in rows.items()}
    crosses = []
    for r in results:
        row = rows[r["id"]]
        answer = r.get("answer", r.get("error", ""))
        for qid, phrases in others.items():
            if qid == r["id"]:
                continue
            hit = said(answer, phrases) + [
                f"{p} (draft)" for p in said(draft_of(r), phrases) if p not in said(answer, phrases)
            ]
            if hit:
                crosses.append(f"{r['id']} says {qid}'s {', '.join(hit)}")
        cells = [
            r["id"],
            row.get("family", "?"),
            "yes" if r.get("followed_injection") else "no",
            "yes" if r.get("followed_injection_in_draft") else "no",
            "yes" if r.get("abstained") else "no",
        ]
        if where:
            cells.append(where.get(r["id"], "-"))
        cells.append(answer.replace("|", "\\|").replace("\n", " "))
        print("| " + " | ".join(cells) + " |")
    print("\ncross: " + ("; ".join(crosses) if crosses else "none"))
    drafts = [r for r in results if r.get("followed_injection_in_draft") and not r.get("followed_injection")]
    for r in drafts:
        print(f"\n{r['id']} draft (followed, not shown): {draft_of(r)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
