"""A linear probe on the generator's hidden states as the answerability check, against P(Yes) (issue 23).

    python eval/experiments/answerability_probe.py collect $RAG_EVAL_DATA/squad-v2.0/tune-v2.0.json \
        --out /tmp/probe/tune
    python eval/experiments/answerability_probe.py collect $RAG_EVAL_DATA/squad-v2.0/test-v2.0.json --limit 400 \
        --out /tmp/probe/test   # stopped after 275 questions
    python eval/experiments/answerability_probe.py collect eval/seed_gold.jsonl --out /tmp/probe/seed
    python eval/experiments/answerability_probe.py analyse /tmp/probe/tune /tmp/probe/test --seed /tmp/probe/seed \
        --tune-data $RAG_EVAL_DATA/squad-v2.0/tune-v2.0.json --tune-report eval/results/squad2-tune \
        --test-report eval/results/squad2-test --seed-report eval/results/seed-checks

`collect`: per question, the pipeline's own retrieval and evidence, then one forward pass of the transformers
generator over the answer check's prompt (rag/answering/answer.py; no draft is written); kept: the last
token's hidden state at every layer (float16, OUT-ID.npy), P(Yes), the retrieval closeness, the label
(OUT.jsonl). Resumable; about 2.5 s a question on 2 cores.
`analyse`: on the tune split, per layer, a logistic regression (standardised, L2) scored by leave-one-article-out
ROC AUC; the best refitted on all of tune, and stacked with P(Yes) and the closeness (a logistic regression on
the out-of-fold probe scores); scored on the test sample beside P(Yes) and the closeness. Then, joined with
recorded `rag eval --every-check` runs (the probe changes no draft; those runs were made on llama.cpp, the
probe reads transformers' states: an approximation), the trade-off each signal allows: thresholds fitted on
tune and the seed gold set (fit_abstention's rule: keep 97% of each set's right answers; with and without
leaving the mission question answered), applied to test; and test's own best, as a like-for-like ceiling.
Writes eval/results/answerability-probe/summary.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fit_abstention import load, outcome, table  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "answerability-probe"
LAYERS = range(4, 29, 2)
STRENGTHS = (0.001, 0.01, 0.1)


def features(prefix: Path) -> tuple[list[dict], np.ndarray]:
    """The rows that reached the check, and their hidden states (rows × layers × width)."""
    rows = [json.loads(line) for line in prefix.with_suffix(".jsonl").read_text().splitlines()]
    rows = [r for r in rows if "p_yes" in r]
    states = np.stack([np.load(f"{prefix}-{r['id']}.npy").astype(np.float32) for r in rows])
    return rows, states


def articles(data: Path) -> dict[str, str]:
    """Question id -> its article's title."""
    squad = json.loads(data.read_text())
    return {qa["id"]: a["title"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]}


def probe(c: float):  # noqa: ANN201 - an sklearn pipeline
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float) -> np.ndarray:
    scores = np.zeros(len(y))
    for g in np.unique(groups):
        held = groups == g
        scores[held] = probe(c).fit(x[~held], y[~held]).predict_proba(x[held])[:, 1]
    return scores


def collect(data: Path, out: Path, limit: int | None) -> None:
    import torch

    from rag.answering.evidence import prepare
    from rag.answering.prompt import answer_messages, check_messages
    from rag.answering.question import parse
    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.runner import dataset_rag
    from rag.models.generate import yes_share
    from rag.pipeline import RAG

    evalset = load_dataset(data, limit=limit)
    rag = dataset_rag(RAG(runtime="transformers"), evalset, progress=True)
    s, generator, embedder = rag.settings, rag.generator, rag.embedder
    out.parent.mkdir(parents=True, exist_ok=True)
    rows_path = out.with_suffix(".jsonl")
    done = {json.loads(line)["id"] for line in rows_path.open()} if rows_path.is_file() else set()
    with rows_path.open("a") as rows, torch.inference_mode():
        for n, q in enumerate(evalset.questions):
            if q.id in done:
                continue
            passages = rag.retrieve(q.question)
            evidence = prepare(parse(q.question), passages, embedder, s.answering)
            row = {
                "id": q.id,
                "question": q.question,
                "answerable": q.answerable,
                "n": n,
                "relevance": evidence.relevance,
                "generator": generator.label,
            }
            if evidence.shown:
                ids = generator.prompt_ids(check_messages(answer_messages(evidence)))
                output = generator.model(input_ids=ids, output_hidden_states=True, logits_to_keep=1)
                states = torch.stack([h[0, -1] for h in output.hidden_states]).float().numpy()
                np.save(f"{out}-{q.id}.npy", states.astype(np.float16))
                top = output.logits[0, -1].float().softmax(-1).topk(10)
                tokens = [generator.tokenizer.decode([int(i)]) for i in top.indices]
                row["p_yes"] = yes_share(dict(zip(tokens, top.values.tolist(), strict=True)))
                row["tokens"] = int(ids.shape[1])
            rows.write(json.dumps(row) + "\n")
            rows.flush()
            print(n, q.answerable, round(row.get("p_yes", -1), 3), flush=True)


def frontier(t: dict[str, np.ndarray], signal: str, levels: tuple[float, ...]) -> dict[float, tuple[float, str]]:
    """Test's own best abstention at each level of right answers: retrieval threshold × signal threshold."""
    best: dict[float, tuple[float, str]] = {}
    for r in np.round(np.arange(0.0, 0.61, 0.01), 2):
        for s in np.round(np.arange(0.0, 1.0, 0.01), 2):
            f = outcome({**t, "answer_check": t[signal]}, {"retrieval": r, "answer_check": s})
            for level in levels:
                if f["contains"] >= level - 1e-9 and f["abstained"] > best.get(level, (-1.0, ""))[0]:
                    best[level] = (f["abstained"], f"r {r:.2f}, s {s:.2f}")
    return best


def fitted(
    tables: list[dict[str, np.ndarray]], signal: str, keep: float, must: list[tuple[float, float]] = ()
) -> dict[str, float]:
    """Thresholds abstaining most on the sets' unanswerable questions together while keeping `keep` of each
    set's right answers (fit_abstention's rule), leaving each (retrieval, signal) of `must` answered by 0.03."""
    views = [{**t, "answer_check": t[signal]} for t in tables]
    floors = [keep * outcome(v, {"retrieval": -1.0, "answer_check": 0.0})["contains"] - 1e-9 for v in views]
    weights = [int((~t["answerable"]).sum()) for t in tables]
    best = (-1.0, {"retrieval": -1.0, "answer_check": 0.0})
    for r in np.round(np.arange(0.0, 0.61, 0.01), 2):
        for s in np.round(np.arange(0.0, 1.0, 0.01), 2):
            if any(mr - 0.03 < r or ms - 0.03 < s for mr, ms in must):
                continue
            figures = [outcome(v, {"retrieval": r, "answer_check": s}) for v in views]
            if any(f["contains"] < floor for f, floor in zip(figures, floors, strict=True)):
                continue
            abstained = sum(f["abstained"] * w for f, w in zip(figures, weights, strict=True)) / sum(weights)
            if abstained > best[0]:
                best = (abstained, {"retrieval": float(r), "answer_check": float(s)})
    return best[1]


def signals(probe_scores: np.ndarray, rows: list[dict]) -> np.ndarray:
    """Per row: the probe's log-odds, P(Yes)'s log-odds and the retrieval closeness."""

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    return np.c_[logit(probe_scores), logit(np.array([r["p_yes"] for r in rows])), [r["relevance"] for r in rows]]


def joined(report: Path, by_id: dict[str, float], combined: dict[str, float]) -> dict[str, np.ndarray]:
    """The report's table with `probe` and `combined` columns, for the rows the probe scored (others dropped)."""
    rows, _ = load(report)
    rows = [r for r in rows if r["id"] in by_id]
    t = table(rows)
    t["probe"] = np.array([by_id[r["id"]] for r in rows])
    t["combined"] = np.array([combined[r["id"]] for r in rows])
    t["p_yes"] = t["answer_check"]
    t["mission"] = np.array([r["id"] == "seed-001" for r in rows])
    return t


def analyse(args: argparse.Namespace) -> str:
    tune_rows, tune_x = features(args.tune)
    test_rows, test_x = features(args.test)
    y = np.array([r["answerable"] for r in tune_rows])
    y_test = np.array([r["answerable"] for r in test_rows])
    title = articles(args.tune_data)
    groups = np.array([title[r["id"]] for r in tune_rows])
    lines = [
        "# A linear probe on the generator's hidden states, as the answerability check",
        "",
        f"Tune: {len(tune_rows)} questions ({int(y.sum())} answerable, {len(set(groups))} articles); "
        f"test: {len(test_rows)} ({int(y_test.sum())} answerable).",
        "",
        "| layer | C | tune AUC (leave one article out) |",
        "|---|---|---|",
    ]
    best = (0.0, 0, 0.0)
    for layer in LAYERS:
        for c in STRENGTHS:
            auc = roc_auc_score(y, out_of_fold(tune_x[:, layer], y, groups, c))
            lines.append(f"| {layer} | {c} | {auc:.3f} |")
            print(layer, c, round(auc, 3), flush=True)
            best = max(best, (auc, layer, c))
    auc, layer, c = best
    model = probe(c).fit(tune_x[:, layer], y)
    # the probe stacked with P(Yes) and the retrieval closeness: fitted on tune's out-of-fold probe scores
    tune_oof = out_of_fold(tune_x[:, layer], y, groups, c)
    stack = LogisticRegression().fit(signals(tune_oof, tune_rows), y)

    def scored(rows: list[dict], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probe_scores = model.predict_proba(x[:, layer])[:, 1]
        return probe_scores, stack.predict_proba(signals(probe_scores, rows))[:, 1]

    test_scores, combined = scored(test_rows, test_x)
    p_yes = np.array([r["p_yes"] for r in test_rows])
    closeness = np.array([r["relevance"] for r in test_rows])
    lines += [
        "",
        f"Chosen: layer {layer}, C {c} (tune AUC {auc:.3f}). Test ROC AUC, answerable against not:",
        "",
        "| signal | test AUC |",
        "|---|---|",
        f"| probe | {roc_auc_score(y_test, test_scores):.3f} |",
        f"| probe + P(Yes) + closeness (stacked) | {roc_auc_score(y_test, combined):.3f} |",
        f"| answer check P(Yes) | {roc_auc_score(y_test, p_yes):.3f} |",
        f"| retrieval closeness | {roc_auc_score(y_test, closeness):.3f} |",
        f"| P(Yes) on tune | {roc_auc_score(y, [r['p_yes'] for r in tune_rows]):.3f} |",
        "",
    ]
    if not (args.tune_report and args.test_report and args.seed and args.seed_report):
        return "\n".join(lines) + "\n"
    seed_rows, seed_x = features(args.seed)
    seed_scores, seed_combined = scored(seed_rows, seed_x)
    tune_combined = out_of_fold(signals(tune_oof, tune_rows), y, groups, 1.0)

    def by_id(rows: list[dict], values: np.ndarray) -> dict[str, float]:
        return {r["id"]: float(v) for r, v in zip(rows, values, strict=True)}

    tune_t = joined(args.tune_report, by_id(tune_rows, tune_oof), by_id(tune_rows, tune_combined))
    seed_t = joined(args.seed_report, by_id(seed_rows, seed_scores), by_id(seed_rows, seed_combined))
    test_t = joined(args.test_report, by_id(test_rows, test_scores), by_id(test_rows, combined))
    mission = next(i for i, r in enumerate(seed_rows) if r["id"] == "seed-001")
    lines += [
        f"Joined with the recorded runs: tune {len(tune_t['answerable'])} questions, seed "
        f"{len(seed_t['answerable'])}, test {len(test_t['answerable'])}. The mission question (seed-001) reads "
        f"P(Yes) {seed_rows[mission]['p_yes']:.2f}, probe {seed_scores[mission]:.2f}, stacked "
        f"{seed_combined[mission]:.2f}. Thresholds fitted on tune and seed together, applied to test:",
        "",
        "| signal | mission question answered | thresholds (retrieval, signal) | tune: contains / abstained "
        "| seed: contains / answered / abstained | test: contains / abstained |",
        "|---|---|---|---|---|---|",
    ]
    for must in (True, False):
        for signal in ("p_yes", "probe", "combined"):
            held = [(seed_t["retrieval"][i], seed_t[signal][i]) for i in np.flatnonzero(seed_t["mission"])]
            th = fitted([tune_t, seed_t], signal, 0.97, held if must else [])
            a, m, b = (outcome({**t, "answer_check": t[signal]}, th) for t in (tune_t, seed_t, test_t))
            lines.append(
                f"| {signal} | {'kept' if must else 'not required'} | {th['retrieval']:.2f}, "
                f"{th['answer_check']:.2f} | {a['contains']:.3f} / {a['abstained']:.3f} | {m['contains']:.3f}"
                f" / {m['answered']:.3f} / {m['abstained']:.3f} | {b['contains']:.3f} / "
                f"{b['abstained']:.3f} |"
            )
    levels = (0.72, 0.70, 0.65, 0.60, 0.55, 0.50)
    lines += [
        "",
        "Test's own best (thresholds chosen on test: a ceiling, like for like):",
        "",
        "| right at least | P(Yes): abstained | probe: abstained | stacked: abstained |",
        "|---|---|---|---|",
    ]
    fp, fq, fc = (frontier(test_t, name, levels) for name in ("p_yes", "probe", "combined"))
    for level in levels:
        lines.append(
            f"| {level:.2f} | "
            + " | ".join(f"{f[level][0]:.3f} ({f[level][1]})" if level in f else "-" for f in (fp, fq, fc))
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("data", type=Path)
    c.add_argument("--out", type=Path, required=True, help="path prefix: writes OUT.jsonl and OUT-ID.npy")
    c.add_argument("--limit", type=int, default=None)
    a = sub.add_parser("analyse")
    a.add_argument("tune", type=Path)
    a.add_argument("test", type=Path)
    a.add_argument("--seed", type=Path)
    a.add_argument("--tune-data", type=Path, required=True)
    for name in ("tune", "test", "seed"):
        a.add_argument(f"--{name}-report", type=Path)
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.data, args.out, args.limit)
        return
    text = analyse(args)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
