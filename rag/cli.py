"""The `rag` command: index, ask, serve. Errors are one line on stderr (and one JSON object on stdout under
--json) and an exit status from rag/exit_codes.py, as docs/cli.md lists them."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from rag import exit_codes
from rag.errors import RagError
from rag.exit_codes import UsageError
from rag.types import Answer, Checked, IndexReport, place

if TYPE_CHECKING:
    from rag.pipeline import RAG
    from rag.retrieval.filters import DocumentFilter


def _quiet_libraries() -> None:
    """Model loaders print progress bars and warnings that mean nothing to a user."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import warnings

    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


# Each setting is a flag spelled as its flat name (--top-k for top_k); these also answer to a shorter one, shown first
SHORT_FLAGS = {"index_dir": "--index", "allowed_hosts": "--allowed-host"}


def flags_of(name: str) -> tuple[str, ...]:
    """A setting's command-line flags: its short spelling where it has one, then its flat name."""
    flat = "--" + name.replace("_", "-")
    return (SHORT_FLAGS[name], flat) if name in SHORT_FLAGS else (flat,)


def _flag_options(field: FieldInfo) -> dict[str, Any]:
    """argparse options from a setting's type: a choice, a number, a path, a yes/no, or a repeatable value."""
    annotation = field.annotation
    if get_origin(annotation) in (Union, UnionType):  # `float | None`: a value given on the command line
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(annotation) is list:
        return {"action": "append", "type": get_args(annotation)[0]}  # repeated: --corpus a --corpus b
    if get_origin(annotation) is Literal:
        return {"choices": list(get_args(annotation))}
    return {"type": annotation}


def _add_settings_flags(parser: argparse.ArgumentParser, server: bool = False) -> None:
    """--config, --json, and a flag for every setting, in its group (the server's only for `rag serve`)."""
    from rag.settings import GROUPS, Settings

    parser.add_argument("--config", help="settings file (TOML); also RAG_CONFIG")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    for group, model in GROUPS.items():
        if group == "server" and not server:
            continue
        flags = parser.add_argument_group(f"{Settings.model_fields[group].description} ([{group}] in rag.toml)")
        for name, field in model.model_fields.items():
            described = (field.description or "").replace("`", "").replace("%", "%%")
            flags.add_argument(*flags_of(name), dest=name, help=described, **_flag_options(field))


def _add_filter_flags(parser: argparse.ArgumentParser) -> None:
    """Answer only from some documents (rag/retrieval/filters.py): repeatable where a list, all must hold."""
    only = parser.add_argument_group("only from the documents matching (repeat a flag for either of its values)")
    only.add_argument("--source", action="append", metavar="GLOB", help="source name glob, e.g. 'reports/**/*.pdf'")
    only.add_argument("--folder", action="append", metavar="FOLDER", help="a source under this folder")
    only.add_argument("--type", action="append", metavar="SUFFIX", help="file type, e.g. pdf or .docx")
    only.add_argument("--after", metavar="DATE", help="modified on or after, YYYY-MM-DD[THH:MM]")
    only.add_argument("--before", metavar="DATE", help="modified before, YYYY-MM-DD[THH:MM]")


@contextlib.contextmanager
def _as_usage() -> Iterator[None]:
    """What another module finds wrong in a flag's value (a date, a login) is a usage error too: exit 2."""
    try:
        yield
    except RagError as error:
        raise UsageError(str(error)) from None


def filter_of(args: argparse.Namespace) -> DocumentFilter | None:
    """The DocumentFilter the filter flags give, or None when none was given."""
    given = {"sources": args.source, "folders": args.folder, "types": args.type}
    given |= {"modified_after": args.after, "modified_before": args.before}
    if all(value is None for value in given.values()):
        return None
    from rag.retrieval.filters import DocumentFilter

    with _as_usage():
        return DocumentFilter.parse(**given)


class _Parser(argparse.ArgumentParser):
    """argparse, its usage errors raised (subcommands' parsers are of this class too): main says them as it says
    every error, as JSON too under --json, rather than argparse printing and exiting on its own."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from rag import __version__

    parser = _Parser(
        prog="rag",
        description="Cited answers from your own documents, offline.",
        epilog="exit status: 0 done, 1 failed, 2 usage error, 3 partly done, 130 interrupted (docs/cli.md)",
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or update an index from files and folders")
    index.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the shipped corpus)")
    index.add_argument("--rebuild", action="store_true", help="start from an empty index")
    index.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="load, split and embed on a Ray cluster (HEAD:6379, auto; alone: a local Ray)",
    )
    index.add_argument("--workers", type=int, help="with --ray: embedder actors (default: one per cluster CPU)")
    index.add_argument(
        "--watch", action="store_true", help="then keep the index in step with the folders until stopped (Ctrl-C)"
    )
    _add_settings_flags(index)

    ask = commands.add_parser("ask", help="answer one question, with citations")
    ask.add_argument("question", help="the question, quoted")
    _add_filter_flags(ask)
    _add_settings_flags(ask)

    remove = commands.add_parser("remove", help="remove one document from the index")
    remove.add_argument("source", help="the document as the index names it (see rag index --json)")
    _add_settings_flags(remove)

    evaluate = commands.add_parser("eval", help="score retrieval, answers, citations and abstention on a data set")
    evaluate.add_argument("dataset", nargs="?", type=Path, help="a JSONL gold file, a SQuAD .json or a BEIR folder")
    evaluate.add_argument("--report", type=Path, help="write results, metrics, config and a summary here")
    evaluate.add_argument("--limit", type=int, help="evaluate a fixed, seeded sample of N questions")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default 0)")
    evaluate.add_argument(
        "--split",
        choices=["test", "tune", "all"],
        default=None,
        help="SQuAD articles: test = 11-48, tune = 1-10, all (default test; v2.0: all)",
    )
    evaluate.add_argument(
        "--judge",
        choices=["llm", "score", "none"],
        default="llm",
        help="support judge behind the citation metrics (default: llm)",
    )
    evaluate.add_argument("--retrieval-only", action="store_true", help="skip answering: retrieval metrics only")
    evaluate.add_argument(
        "--plain",
        action="store_true",
        help="the baseline a tutorial gives instead of this pipeline: 1,000-character chunks, top 4, a one-line "
        "prompt, no checks (same models)",
    )
    evaluate.add_argument(
        "--remove-gold",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="SQuAD: delete this share of the split's paragraphs from the corpus; their questions become "
        "unanswerable (documents near the question but silent)",
    )
    evaluate.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("RUN_A", "RUN_B"),
        help="two runs' metrics side by side (report folders or metrics.json files)",
    )
    _add_settings_flags(evaluate)

    calibrate = commands.add_parser(
        "calibrate", help="fit the abstention thresholds of each strictness for the configured model"
    )
    calibrate.add_argument(
        "--out", type=Path, help="write the fit to this folder (default: the calibration folder in cache_dir)"
    )
    _add_settings_flags(calibrate)

    serve = commands.add_parser("serve", help="the chat web app")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; beyond it, a login is needed)"
    )
    serve.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    serve.add_argument(
        "--auth",
        action="append",
        metavar="USER:PASSWORD",
        help="a login that may ask and change documents; repeatable (also $RAG_AUTH)",
    )
    serve.add_argument(
        "--reader",
        action="append",
        metavar="USER:PASSWORD",
        help="a login that may ask but not change documents; repeatable (also $RAG_READER)",
    )
    serve.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help="a Bearer token for tools and agents (reads, on every route); repeatable (also $RAG_API_KEY)",
    )
    serve.add_argument("--concurrency", type=int, default=1, help="answers generated at once (default 1)")
    serve.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="serve as Ray Serve replicas (HEAD:6379, auto; alone: a local Ray)",
    )
    serve.add_argument("--replicas", type=int, default=1, help="with --ray: replicas of the app (default 1)")
    serve.add_argument(
        "--watch", action="store_true", help="keep the collection in step with its folders as files change"
    )
    _add_settings_flags(serve, server=True)

    mcp = commands.add_parser(
        "mcp", help="an MCP server over stdio (tools search_documents and ask_documents, resource documents)"
    )
    _add_settings_flags(mcp)

    listing = commands.add_parser("collections", help="list the collections and their sizes")
    _add_settings_flags(listing)
    from rag.people.commands import add_commands

    add_commands(commands)  # users, chats
    return parser


def _pipeline(args: argparse.Namespace):  # noqa: ANN202
    if args.config:
        if not Path(args.config).is_file():
            raise UsageError(f"settings file not found: {args.config}")
        os.environ["RAG_CONFIG"] = args.config
    from rag.pipeline import RAG
    from rag.settings import GROUP_OF, GROUPS, Settings

    overrides = {name: getattr(args, name, None) for name in GROUP_OF}  # a flag not given is None: kept
    try:
        return RAG(Settings().with_overrides(**overrides))
    except ValidationError as error:
        first = error.errors()[0]
        loc = first["loc"][1:] if first["loc"][:1] and first["loc"][0] in GROUPS else first["loc"]  # flat name
        where, message = ".".join(map(str, loc)), first["msg"].removeprefix("Value error, ")
        raise UsageError(f"bad setting {where}: {message}" if where else f"bad setting: {message}") from None


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1))


def _ray_address(value: str) -> str | None:
    """--ray's ADDRESS for rag.scale.connect: None (no address given) starts a local Ray."""
    from rag.scale import require_ray

    require_ray()  # before any model loads: a missing extra is one line, at once
    return None if value == "local" else value


def cmd_index(args: argparse.Namespace) -> int:
    if args.workers is not None and (args.ray is None or args.workers < 1):
        raise UsageError("--workers needs --ray and must be at least 1")
    address = _ray_address(args.ray) if args.ray is not None else None
    rag = _pipeline(args)
    progress = not args.json and sys.stderr.isatty()
    if args.ray is not None:
        from rag.scale.ray_ingest import build

        report = build(
            rag, args.paths or None, rebuild=args.rebuild, address=address, workers=args.workers, progress=progress
        )
    else:
        report = rag.build(args.paths or None, rebuild=args.rebuild, progress=progress)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(
            f"{report.documents} documents, {report.chunks} chunks in {rag.settings.paths.index_dir} "
            f"(added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
            f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}) in {report.seconds:.1f} s"
        )
    status = _say_what_was_not_indexed(report, [Path(p) for p in args.paths or []], rag.settings.paths.index_dir)
    if args.watch:
        _watch(rag, [Path(p) for p in args.paths or rag.settings.paths.corpus], args.json)
    return status


def _watch(rag: RAG, roots: list[Path], as_json: bool) -> None:
    """Keep the index in step with `roots` until Ctrl-C, a line (or a JSON report) per update."""
    import threading

    def said(report: IndexReport) -> None:
        if as_json:
            _print_json(report.to_dict())
        else:
            print(
                f"rag: updated: added {len(report.added)}, updated {len(report.updated)}, "
                f"removed {len(report.removed)}, skipped {len(report.skipped)} ({report.documents} documents)",
                flush=True,
            )
        for item in report.skipped:
            print(f"rag: skipped: {item['error']}", file=sys.stderr)

    watch = rag.watch(roots, on_update=said)
    print(f"rag: watching {', '.join(map(str, roots))} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        watch.stop()


def _say_what_was_not_indexed(report: IndexReport, named: list[Path], index_dir: Path) -> int:
    """Each file not indexed, with its reason, on stderr; exit status PARTIAL (3) when one could not be read, or
    when a file named on the command line is of a kind not read. A folder's files of kinds not read are listed,
    but do not fail the run: a Documents folder always holds some."""
    from rag.store.sync import source_name

    asked = {source_name(path, index_dir.parent) for path in named if not path.is_dir()}
    failed = False
    for item in report.skipped:
        unsupported = item.get("reason") == "unsupported" and item["path"] not in asked
        failed = failed or not unsupported
        print(f"rag: {'not read' if unsupported else 'skipped'}: {item['error']}", file=sys.stderr)
    if report.hidden:
        print(f"rag: {report.hidden} hidden files and folders (names starting with '.') left out", file=sys.stderr)
    return exit_codes.PARTIAL if failed else exit_codes.OK


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answering.answer import added, after_checked

    if not args.question.strip():
        raise UsageError("the question is empty")
    only = filter_of(args)  # a bad date is said before any model loads
    rag = _pipeline(args)
    _warn_if_uncalibrated(rag)
    answer, live, shown = None, not args.json and sys.stdout.isatty(), ""
    for item in rag.stream(args.question, filter=only):
        if isinstance(item, Answer):
            answer = item
        elif live and isinstance(item, Checked) and (more := added(shown, item)):
            print(more, end="", flush=True)  # each sentence once it is checked
            shown += more
    assert answer is not None
    if args.json:
        _print_json(answer.to_dict())
        return 0
    print(after_checked(answer, shown))
    if answer.abstained:
        print(f"\n({answer.abstain_reason}{'; closest passages:' if answer.passages else ''})")
        for n, passage in enumerate(answer.passages[:3], start=1):
            print(f"  [{n}] {passage.chunk.source}: {passage.chunk.text[:160]}…")
    for citation in answer.citations:
        where = f", {where}" if (where := place(citation.location, citation.page)) else ""
        print(f"\n[{citation.n}] {citation.source}{where}\n    {citation.text}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    rag = _pipeline(args)
    if not rag.remove(args.source):
        raise RagError(f"no document '{args.source}' in {rag.settings.paths.index_dir}")
    print(json.dumps({"removed": args.source}) if args.json else f"removed {args.source}")
    return 0


def _eval_compare(args: argparse.Namespace) -> int:
    """`rag eval --compare A B`: two saved reports side by side, metric by metric."""
    from rag.evaluation import report as reports

    rows = reports.compare(*args.compare)
    for warning in reports.compare_warnings(*args.compare):
        print(f"rag: warning: {warning}", file=sys.stderr)
    if args.json:
        _print_json({name: {"a": a, "b": b, "b_minus_a": d} for name, a, b, d in rows})
        return 0
    width = max(len(name) for name, *_ in rows) if rows else 10
    print(f"{'metric':<{width}}  {'A':>10}  {'B':>10}  {'B - A':>10}")
    for name, a, b, d in rows:
        cells = ["–" if v is None else f"{v:.4g}" for v in (a, b)]
        diff = "–" if d is None else f"{d:+.4g}"
        print(f"{name:<{width}}  {cells[0]:>10}  {cells[1]:>10}  {diff:>10}")
    return 0


def _eval_judge(kind: str, target: Any, retrieval_only: bool) -> Any:
    """The judge of generated answers, or None: a retrieval-only run generates none to judge."""
    from rag.evaluation.judge import LLMJudge, ScoreJudge

    if retrieval_only or kind == "none":
        return None
    if kind == "score":
        return ScoreJudge(target.embedder)
    if not getattr(target.generator, "logprobs", True):  # a model server that gives no token probabilities
        raise UsageError(
            "--judge llm reads the model's token probabilities, which this model server does not give: "
            "use --judge score or --judge none"
        )
    return LLMJudge(target.generator)


def _print_eval_metrics(metrics: dict[str, Any], report: Path | None) -> None:
    """One line per metric group (and operating point); curves are left to --json and the report's plots."""
    for group, values in metrics.items():
        if group == "risk_coverage":
            for name, point in values["points"].items():
                print(f"operating point {name}: " + ", ".join(f"{k} {v}" for k, v in point.items()))
        elif isinstance(values, dict) and group != "recall_curve":
            print(f"{group}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
        elif not isinstance(values, dict):
            print(f"{group}: {values}")
    if report:
        print(f"report: {report / 'summary.md'}")


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluation import report as reports

    if args.compare:
        return _eval_compare(args)
    if args.dataset is None:
        raise UsageError("name a data set (a JSONL gold file, a SQuAD .json or a BEIR folder) or use --compare A B")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.plain and args.retrieval_only:
        raise UsageError("--plain answers every question: leave out --retrieval-only")

    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.operating_points import risk_coverage
    from rag.evaluation.plain import plain_scorer
    from rag.evaluation.runner import aggregate, dataset_rag, run

    evalset = load_dataset(args.dataset, args.limit, args.split, args.seed, args.remove_gold)
    rag = _pipeline(args)
    _warn_if_uncalibrated(rag)
    progress = sys.stderr.isatty()
    retrieval_only = args.retrieval_only or evalset.retrieval_only
    target = rag if args.plain else dataset_rag(rag, evalset, progress)
    judge = None if args.plain else _eval_judge(args.judge, target, retrieval_only)
    score = plain_scorer(rag, evalset) if args.plain else None
    results = reports.ResultsFile(args.report)
    try:
        outcome = run(target, evalset, judge, retrieval_only, results.write, progress, score)
    finally:
        results.close()
    metrics = {"dataset": evalset.name, **aggregate(outcome.results), "seconds": outcome.seconds}
    points = risk_coverage(outcome.results, target.settings)
    if points:
        metrics["risk_coverage"] = points
    if outcome.interrupted:
        metrics["interrupted"] = True
    if args.report:
        config = reports.run_config(
            target.settings, evalset, args.judge if judge else "none", retrieval_only, args.limit, args.seed
        )
        config["pipeline"] = "plain (rag.evaluation.plain)" if args.plain else "rag"
        config["dataset"]["remove_gold"] = args.remove_gold
        reports.write_report(args.report, metrics, config, outcome.results)
    if args.json:
        _print_json(metrics)
    else:
        _print_eval_metrics(metrics, args.report)
    if outcome.interrupted:
        print(f"rag: interrupted; kept {len(outcome.results)} scored questions", file=sys.stderr)
        return exit_codes.INTERRUPTED
    if metrics["errors"]:
        print(f"rag: {metrics['errors']} questions failed and are left out of the scores", file=sys.stderr)
        return exit_codes.PARTIAL
    return exit_codes.OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    from rag.calibration.calibrate import calibrate

    rag = _pipeline(args)

    def warn(line: str) -> None:
        print(f"rag: warning: calibration set part not found, calibrating without it: {line}", file=sys.stderr)

    result = calibrate(rag, args.out, progress=sys.stderr.isatty(), warn=warn)
    if args.json:
        _print_json({"path": str(result.path), "seconds": result.seconds, **result.fit})
        return 0
    print(
        f"calibrated {describe_model(rag)} in {result.seconds:.0f} s on {sum(result.fit['calibration_set'].values())} "
        f"questions; fit written to {result.path}"
    )
    print("strictness  retrieval  answer_check  right among shown  coverage  target")
    for name, point in result.fit["points"].items():
        f = point["figures"]
        reached = "reached" if point["target_reached"] else "NOT reached"
        print(
            f"{name:<10}  {point['min_retrieval_score']:<9}  {point['min_answer_check']:<12}  "
            f"{f['precision']!s:<17}  {f['coverage']!s:<8}  {reached}"
        )
    return 0


def describe_model(rag: Any) -> str:
    from rag.models.calibration import describe

    return describe(rag.settings.model_identity())


def _warn_if_uncalibrated(rag: Any) -> None:
    """Said once at start: the thresholds are conservative guesses for a model never calibrated."""
    warning = rag.settings.uncalibrated_warning()
    if warning:
        print(f"rag: warning: {warning}", file=sys.stderr)


def _credentials(args: argparse.Namespace) -> Any:
    """The logins and keys of `rag serve`: flags, else the environment (RAG_AUTH, RAG_READER, RAG_API_KEY)."""
    from rag.api.access import Credentials, parse_login

    def given(values: list[str] | None, variable: str) -> list[str]:
        return values or ([os.environ[variable]] if os.environ.get(variable) else [])

    editors = tuple(parse_login(v, "--auth (or RAG_AUTH)") for v in given(args.auth, "RAG_AUTH"))
    readers = tuple(parse_login(v, "--reader (or RAG_READER)") for v in given(args.reader, "RAG_READER"))
    keys = args.api_key or ([os.environ["RAG_API_KEY"]] if "RAG_API_KEY" in os.environ else [])
    if any(not key.strip() for key in keys):
        raise UsageError("--api-key (or RAG_API_KEY) is empty")
    # the accounts of `rag users` log in too, and their presence requires a login, as a flag's does
    accounts = _pipeline(args).settings.paths.data_dir
    return Credentials(editors, readers, tuple(key.strip() for key in keys), accounts=accounts)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.api.app import refuse_open_bind, serve

    with _as_usage():
        credentials = _credentials(args)
        refuse_open_bind(args.host, credentials)  # before any model loads
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.replicas < 1 or (args.replicas > 1 and args.ray is None):
        raise UsageError("--replicas needs --ray and must be at least 1")
    if args.watch and args.ray is not None:
        raise UsageError("--watch runs beside one server, not Ray replicas: run rag index PATH --watch beside them")
    if args.ray is not None:
        address = _ray_address(args.ray)
        from rag.scale.ray_serve import serve_replicas

        serve_replicas(
            _pipeline(args).settings,
            replicas=args.replicas,
            address=address,
            host=args.host,
            port=args.port,
            credentials=credentials,
            concurrency=args.concurrency,
        )
        return 0
    rag = _pipeline(args)
    _warn_if_uncalibrated(rag)
    serve(rag, host=args.host, port=args.port, credentials=credentials, concurrency=args.concurrency, watch=args.watch)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from rag.api.mcp_tools import build_mcp
    from rag.collections import Collections

    rag = _pipeline(args)
    _warn_if_uncalibrated(rag)
    build_mcp(Collections(rag)).run("stdio")  # models load on the first tool call
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    """rag users, rag chats (rag/people/commands.py), in the data folder the settings name."""
    from rag.people import commands

    command = commands.users if args.command == "users" else commands.chats
    return command(args, _pipeline(args).settings.paths.data_dir)


def cmd_collections(args: argparse.Namespace) -> int:
    from rag.collections import Collections

    infos = Collections(_pipeline(args)).describe()
    if args.json:
        _print_json([info.to_dict() for info in infos])
        return 0
    width = max(len(info.name) for info in infos)
    for info in infos:
        held = f"{info.documents} documents, {info.chunks} chunks" if info.built else "not built yet"
        print(f"{info.name:<{width}}  {held}  {info.index_dir}")
    return 0


def _json_asked(argv: list[str]) -> bool:
    """Whether --json was given, read from the words themselves: argparse may have failed on them."""
    return "--json" in (argv[: argv.index("--")] if "--" in argv else argv)


def _fail(error: BaseException, as_json: bool) -> int:
    """Say why the run ended, one line on stderr (and one object on stdout under --json); its exit status."""
    code = exit_codes.exit_code_of(error)
    if isinstance(error, RagError):
        message, line = str(error), f"rag: error: {error}"
    elif isinstance(error, KeyboardInterrupt):
        message, line = "interrupted", "rag: interrupted"
    else:
        message = f"unexpected error: {type(error).__name__}: {error}"
        line = f"rag: {message} (set RAG_DEBUG=1 for details)"
    print(line, file=sys.stderr)
    if as_json:  # a script reading stdout gets one object whatever happened
        _print_json({"error": message, "exit_code": code})
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        return _fail(error, _json_asked(argv))
    _quiet_libraries()
    handlers = {
        "index": cmd_index,
        "ask": cmd_ask,
        "remove": cmd_remove,
        "eval": cmd_eval,
        "calibrate": cmd_calibrate,
        "serve": cmd_serve,
        "mcp": cmd_mcp,
        "collections": cmd_collections,
        "users": cmd_people,
        "chats": cmd_people,
    }
    as_json = bool(getattr(args, "json", False))
    try:
        return handlers[args.command](args)
    except (RagError, KeyboardInterrupt) as error:
        return _fail(error, as_json)
    except BrokenPipeError:  # the reader went away (`rag collections --json | head`): nothing left to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail again
        return exit_codes.FAILED
    except Exception as error:  # noqa: BLE001 - never a traceback for the user unless asked
        if os.environ.get("RAG_DEBUG"):
            raise
        return _fail(error, as_json)


if __name__ == "__main__":
    sys.exit(main())
