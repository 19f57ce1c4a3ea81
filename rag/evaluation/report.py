"""The report folder of a run, and side-by-side comparison of two runs.

results.jsonl   one scored question a line, written as each is done (kept on Ctrl-C)
metrics.json    the aggregate
config.json     settings, model fingerprints, data set hash, judge and its measured agreement, git commit
summary.md      readable summary, with recall_at_k.png, latency.png and risk_coverage.png
"""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any, TextIO

from rag.errors import RagError
from rag.evaluation.datasets import EvalSet
from rag.evaluation.judge import load_fit
from rag.models.cpu import describe
from rag.models.weights import GENERATORS, SINGLE_GGUF, fingerprint_folder, resolve_embedder
from rag.settings import PROJECT_ROOT, Settings


class ResultsFile:
    """results.jsonl, appended and flushed per question so nothing done is lost."""

    def __init__(self, folder: Path | None) -> None:
        self.handle: TextIO | None = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            stale_files = (
                "metrics.json",
                "config.json",
                "summary.md",
                "recall_at_k.png",
                "latency.png",
                "risk_coverage.png",
            )
            for stale in stale_files:
                (folder / stale).unlink(missing_ok=True)  # a reused folder must not mix two runs
            self.handle = open(folder / "results.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record: dict[str, Any]) -> None:
        if self.handle:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.handle.flush()

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def model_fingerprints(settings: Settings, retrieval_only: bool) -> dict[str, str]:
    out = {}
    embedder = resolve_embedder(settings.models.embedder, settings.paths.cache_dir)
    out["embedder"] = f"{settings.models.embedder}: " + (
        fingerprint_folder(Path(embedder.location)) if embedder.kind == "folder" else embedder.location
    )
    if not retrieval_only:
        name = settings.models.generator
        if name in GENERATORS:
            out["generator"] = f"{name}: sha256 {GENERATORS[name].sha256}"
        elif name in SINGLE_GGUF:
            out["generator"] = f"{name}: package file {SINGLE_GGUF[name][0]}/{SINGLE_GGUF[name][1]}"
        elif Path(name).is_dir():
            out["generator"] = f"{name}: {fingerprint_folder(Path(name))}"
        else:
            out["generator"] = name
    return out


def run_config(
    settings: Settings, evalset: EvalSet, judge: str, retrieval_only: bool, limit: int | None, seed: int
) -> dict[str, Any]:
    fit = load_fit().get(judge, {})
    model = settings.models.generator if judge == "llm" else settings.models.embedder
    measured_with = fit.get("generator" if judge == "llm" else "embedder")
    # figures measured with another model say nothing about this one
    agreement = fit.get("agreement") if measured_with == model else None
    brief = fit.get("brief_answers") if measured_with == model else None
    return {
        "dataset": {
            "name": evalset.name,
            "kind": evalset.kind,
            "path": str(evalset.path),
            "sha256": evalset.sha256,
            "questions_in_data": evalset.total_questions,
            "questions_evaluated": len(evalset.questions),
            "limit": limit,
            "seed": seed,
        },
        "settings": settings.flat(mode="json"),
        "models": model_fingerprints(settings, retrieval_only),
        "retrieval_only": retrieval_only,
        "judge": {
            "name": judge,
            "model": model,
            "agreement_measured_with": measured_with,
            "agreement_with_scifact_labels": agreement,
            "agreement_on_squad_brief_answers": brief,
        }
        if judge != "none"
        else None,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {describe()}",
    }


def write_report(folder: Path, metrics: dict[str, Any], config: dict[str, Any], results: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = _plots(folder, metrics, results)
    (folder / "summary.md").write_text(_summary(metrics, config, results, plots), encoding="utf-8")


def _plots(folder: Path, metrics: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    made = []
    if "recall_curve" in metrics:
        ks = [int(k) for k in metrics["recall_curve"]]
        figure, axes = plt.subplots(figsize=(5, 3.2))
        axes.plot(ks, list(metrics["recall_curve"].values()), marker="o")
        axes.set(
            xscale="log",
            xlabel="k (passages or documents retrieved)",
            ylabel="recall@k",
            ylim=(0, 1.02),
            title="Recall at k",
        )
        axes.set_xticks(ks, [str(k) for k in ks])
        axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(folder / "recall_at_k.png", dpi=110)
        plt.close(figure)
        made.append("recall_at_k.png")
    if metrics.get("risk_coverage", {}).get("points"):
        _plot_risk_coverage(plt, folder, metrics["risk_coverage"])
        made.append("risk_coverage.png")
    totals = [r["timings_ms"]["total"] / 1000 for r in results if "total" in r.get("timings_ms", {})]
    firsts = [r["timings_ms"]["first_token"] / 1000 for r in results if r.get("timings_ms", {}).get("first_token")]
    if totals:
        figure, axes = plt.subplots(figsize=(5, 3.2))
        axes.hist([firsts, totals], bins=20, label=["first token", "whole answer"])
        axes.set(xlabel="seconds", ylabel="questions", title="Answer latency")
        axes.legend()
        figure.tight_layout()
        figure.savefig(folder / "latency.png", dpi=110)
        plt.close(figure)
        made.append("latency.png")
    return made


def _plot_risk_coverage(plt: Any, folder: Path, rc: dict[str, Any]) -> None:
    """Share of questions shown an answer against share right among them, each operating point marked."""
    figure, axes = plt.subplots(figsize=(5, 3.6))
    if rc.get("curve"):
        points = rc["curve"]
        axes.plot([p["coverage"] for p in points], [p["precision"] for p in points], label="answer check swept")
    for (name, point), marker in zip(rc["points"].items(), "osD^v", strict=False):
        if point.get("coverage") is not None and point.get("precision") is not None:
            axes.scatter([point["coverage"]], [point["precision"]], marker=marker, zorder=3, label=name)
    axes.set(
        xlabel="answers shown (share of questions)",
        ylabel="right among answers shown",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title="Risk and coverage",
    )
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(folder / "risk_coverage.png", dpi=110)
    plt.close(figure)


def _points_table(rc: dict[str, Any]) -> list[str]:
    """The operating points as a table (rag.evaluation.operating_points)."""
    lines = [
        "## Operating points",
        "",
        "Each strictness's thresholds applied to this run's recorded checks (every check recorded), and the run as "
        f"it ran. Calibration: {rc.get('calibration', 'not applied (the run did not record every check)')}. Right: "
        "an answerable question answered with a gold answer; precision: right among the answers shown; coverage: "
        "share of questions shown an answer.",
        "",
        "| point | retrieval | answer check | right (answerable) | answered (answerable) "
        "| abstained (unanswerable) | precision | coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, p in rc["points"].items():
        lines.append(
            f"| {name} | {p.get('min_retrieval_score', '')} | {p.get('min_answer_check', '')} | {p['contains']} "
            f"| {p['answered']} | {p['abstained']} | {p['precision']} | {p['coverage']} |"
        )
    return [*lines, ""]


def _table(rows: list[tuple[str, Any]]) -> str:
    return "| metric | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)


def _summary(metrics: dict[str, Any], config: dict[str, Any], results: list[dict[str, Any]], plots: list[str]) -> str:
    d = config["dataset"]
    lines = [f"# Evaluation: {d['name']}", ""]
    if metrics.get("interrupted"):
        lines += [f"**Interrupted**: {metrics['questions']} of {d['questions_evaluated']} questions were scored.", ""]
    lines += [
        f"- data: `{d['path']}` ({d['kind']}, sha256 {d['sha256'][:16]}…), {metrics['questions']} questions "
        f"evaluated of {d['questions_in_data']}" + (f" (seeded sample, seed {d['seed']})" if d["limit"] else ""),
        f"- models: {'; '.join(config['models'].values())}",
        f"- commit: {config['git_commit']}; {metrics.get('seconds', 0)} s; runtime {config['settings'].get('runtime')}"
        f" {config['settings'].get('dtype')}; machine: {config.get('machine', 'not recorded')}",
        "",
    ]
    for group in ("retrieval", "answers", "facts", "citations", "citations_vs_gold", "abstention", "injection"):
        if group in metrics:
            title = "Citations against the annotated evidence" if group == "citations_vs_gold" else group.capitalize()
            lines += [f"## {title}", "", _table(list(metrics[group].items())), ""]
        if group == "facts" and group in metrics:
            lines += [
                "A gold fact is stated when one shown sentence holds its key phrases and cites a passage holding "
                "its sentence; attribution kept: of the attributed facts stated, the share whose sentence keeps "
                "the attribution (rag/evaluation/facts.py).",
                "",
            ]
        if group == "citations" and config.get("judge"):
            lines += _judge_trust(config["judge"])
        if group == "citations_vs_gold" and group in metrics:
            lines += [
                "As above, with the data's labels in place of a judge: a citation counts when its passage holds "
                "a gold passage (or, without those, comes from a gold source), and never for a question the data "
                "marks unanswerable. It does not read the sentence: a wrong answer citing the gold passage "
                "counts, and so does not a right one citing another passage that says the same.",
                "",
            ]
    if "checks" in metrics:
        lines += [
            "## Checks",
            "",
            "Which check decided each abstention (the first to fail), and how often each failed "
            "among the answers it ran on (rag/answering/checks.py).",
            "",
            "| check | decided, answerable | decided, unanswerable | failed | ran |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {c['decided_answerable']} | {c['decided_unanswerable']} | {c['failed']} | {c['ran']} |"
            for name, c in metrics["checks"].items()
        ] + [""]
    if metrics.get("risk_coverage", {}).get("points"):
        lines += _points_table(metrics["risk_coverage"])
    if "latency_ms" in metrics:
        rows = [(f"{name} p50 / p95 (ms)", f"{v['p50']} / {v['p95']}") for name, v in metrics["latency_ms"].items()]
        lines += ["## Latency", "", _table(rows), ""]
    lines += [f"![{plot}]({plot})" for plot in plots] + [""]
    misses = [r for r in results if r.get("answerable") and (r.get("abstained") or r.get("f1", 1) == 0)][:10]
    if misses:
        lines += ["## Misses (first 10)", "", "| question | answer | gold |", "|---|---|---|"]
        for r in misses:
            gold = "; ".join(r.get("gold_answers", []))[:80]
            lines.append(f"| {_cell(r['question'])} | {_cell(r.get('answer', ''))} | {_cell(gold)} |")
        lines.append("")
    return "\n".join(lines)


def _judge_trust(judge: dict[str, Any]) -> list[str]:
    """The judge's measured agreement with human labels: how far to trust the citation figures."""
    lines = [f"How far to trust these: the `{judge['name']}` support judge against SciFact's human labels:", ""]
    agreement = judge.get("agreement_with_scifact_labels") or {}
    for split, figures in agreement.items():
        lines.append(
            f"- {split} ({figures.get('n')} claim-passage pairs): accuracy {figures.get('accuracy')}, Cohen's kappa "
            f"{figures.get('kappa')}, precision {figures.get('precision')}, recall {figures.get('recall')}"
        )
    brief = judge.get("agreement_on_squad_brief_answers") or {}
    if "as the answer to its question" in brief:  # how this report judges an answer of a few words
        figures = brief["as the answer to its question"]
        lines.append(
            f"- brief answers, judged as the answer to their question (eval/fit_judge.py --brief; {brief.get('data')}, "
            f"{figures.get('n')} pairs): accuracy {figures.get('accuracy')}, Cohen's kappa {figures.get('kappa')}, "
            f"precision {figures.get('precision')}, recall {figures.get('recall')}"
        )
    if not agreement:
        model, measured = judge.get("model"), judge.get("agreement_measured_with")
        lines.append(
            f"- not measured for `{model}` (measured with `{measured}`; run `python eval/fit_judge.py`): "
            "treat these citation figures as unchecked"
        )
    return lines + [""]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())[:160]


# --- comparison ------------------------------------------------------------------------------------


def _metrics_of(path: Path) -> dict[str, Any]:
    file = path / "metrics.json" if path.is_dir() else path
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"no evaluation run at {path} (expected a --report folder or its metrics.json)") from None
    except json.JSONDecodeError as error:
        raise RagError(f"{file}:{error.lineno}: not valid JSON ({error.msg})") from None


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = value
    return flat


def compare_warnings(run_a: Path, run_b: Path) -> list[str]:
    """What makes two runs' figures not like for like: other data, another sample, an interrupted run."""
    warnings = []
    configs = []
    for run in (run_a, run_b):
        config_file = (run if run.is_dir() else run.parent) / "config.json"
        configs.append(json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {})
        if _metrics_of(run).get("interrupted"):
            warnings.append(f"{run} was interrupted: its figures cover part of the questions")
    (a, b) = (c.get("dataset", {}) for c in configs)
    for key in ("sha256", "questions_evaluated", "limit", "seed"):
        if a and b and a.get(key) != b.get(key):
            warnings.append(f"the runs differ in data set {key}: {a.get(key)} vs {b.get(key)}")
    return warnings


def compare(run_a: Path, run_b: Path) -> list[tuple[str, float | None, float | None, float | None]]:
    """Every numeric metric of two runs, with B − A."""
    a, b = _flatten(_metrics_of(run_a)), _flatten(_metrics_of(run_b))
    rows = []
    for name in list(dict.fromkeys([*a, *b])):
        if name.startswith("recall_curve"):
            continue
        va, vb = a.get(name), b.get(name)
        rows.append((name, va, vb, round(vb - va, 4) if va is not None and vb is not None else None))
    return rows
