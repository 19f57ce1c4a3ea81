"""One settings object: defaults, overridden by a TOML file, then the environment, then explicit values."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import GROUP_OF, Settings

ROOT = Path(__file__).resolve().parents[1]


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\ngenerator = "qwen-0.5b"\nchunk_tokens = 100\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_TOP_K", "3")
    settings = Settings()
    assert settings.generator == "qwen-0.5b"  # file over default
    assert settings.top_k == 3  # environment over file
    assert settings.with_overrides(top_k=9, generator=None).top_k == 9  # explicit over environment; None keeps
    assert Settings().chunk_tokens == 100


def test_invalid_values_are_rejected():
    with pytest.raises(ValidationError):
        Settings(top_k=0)
    with pytest.raises(ValidationError):
        Settings(runtime="vllm")
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)


@pytest.mark.parametrize(
    ("native", "runtime", "dtype"), [(True, "transformers", "bfloat16"), (False, "llama.cpp", "float32")]
)
def test_auto_runtime_follows_the_cpu(monkeypatch: pytest.MonkeyPatch, native: bool, runtime: str, dtype: str):
    monkeypatch.setattr("rag.settings.native_bfloat16", lambda: native)
    settings = Settings()
    assert (settings.runtime, settings.dtype) == (runtime, dtype)  # resolved: reports name what ran
    chosen = Settings(runtime="transformers", dtype="float32")
    assert (chosen.runtime, chosen.dtype) == ("transformers", "float32")  # a choice is kept as made


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    from rag.models.cpu import BFLOAT16_FLAGS, cpu_flags

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) & BFLOAT16_FLAGS == {"avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ("fpu avx2 avx512f avx512_bf16", "AVX512-BF16"),
        ("fpu avx2 avx512f", "AVX-512, no BF16"),
        ("fpu avx2", "AVX2 only"),
        ("fpu sse4_2", "no AVX2"),
    ],
)
def test_reports_name_the_cpu_and_its_vector_level(tmp_path: Path, flags: str, level: str):
    from rag.models.cpu import describe

    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: {flags}\n")
    assert describe(info).startswith("Some Xeon, ")
    assert describe(info).endswith(f" cores, {level}")
    assert describe(tmp_path / "missing").startswith("unknown CPU, ")


def test_unset_thresholds_are_those_of_the_models_fit_at_its_strictness(tmp_path):
    from rag.models.calibration import load_fit

    for runtime in ("transformers", "llama.cpp"):  # both shipped fits of the shipped model
        settings = Settings(runtime=runtime, cache_dir=tmp_path)
        fit = load_fit(settings.model_identity(), tmp_path)
        assert fit is not None and settings.calibration == fit.path
        for strictness in ("lenient", "balanced", "strict"):
            chosen = settings.with_overrides(strictness=strictness).checks
            assert chosen.min_answer_check == fit.points[strictness]["min_answer_check"]
            assert chosen.min_retrieval_score == fit.points[strictness]["min_retrieval_score"]
    llama = Settings(runtime="llama.cpp", min_support=0.5, cache_dir=tmp_path)
    switched = llama.with_overrides(runtime="transformers")
    transformers_fit = load_fit(switched.model_identity(), tmp_path)
    assert switched.min_answer_check == transformers_fit.points["balanced"]["min_answer_check"]  # chosen again
    assert switched.min_support == 0.5  # a value given is kept


def test_every_setting_has_a_group_and_a_description_and_the_reference_is_current():
    from rag.settings import GROUP_OF, GROUPS
    from rag.settings_reference import REFERENCE, reference

    assert set(Settings.model_fields) == set(GROUPS)  # the top level is the groups, nothing loose
    for group, model in GROUPS.items():
        assert Settings.model_fields[group].description, f"group {group} has no title"
        for name, field in model.model_fields.items():
            assert field.description, f"{name} has no description"
            assert GROUP_OF[name] == group
    assert len(GROUP_OF) == sum(len(model.model_fields) for model in GROUPS.values())  # no flat name twice
    assert REFERENCE.read_text(encoding="utf-8") == reference(), "run: python -m rag.settings_reference"


def test_grouped_and_flat_names_reach_the_same_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\n[ingest]\nchunk_tokens = 100\n[search]\nretrieval = "keyword"\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    settings = Settings()
    assert (settings.top_k, settings.answering.top_k) == (7, 7)  # a flat name in the file lands in its group
    assert (settings.chunk_tokens, settings.retrieval) == (100, "keyword")  # a group table, read flat
    monkeypatch.setenv("RAG_ANSWERING__TOP_K", "4")
    assert Settings().top_k == 4  # the grouped environment name over the file
    monkeypatch.setenv("RAG_TOP_K", "3")
    assert Settings().top_k == 4  # and over the flat one
    monkeypatch.setenv("RAG_ADVISORY_CHECKS", '["kind"]')
    assert Settings().checks.advisory_checks == ["kind"]  # a flat environment list is parsed as JSON, as before
    assert Settings(top_k=2).answering.top_k == 2  # init arguments by flat name
    settings.top_k = 6  # the flat name writes through
    assert settings.answering.top_k == 6
    assert settings.flat()["top_k"] == 6 and "answering" not in settings.flat()  # reports keep the flat record
    with pytest.raises(ValidationError):
        Settings(answering={"no_such_setting": 1})


def test_every_setting_can_be_given_to_rag_by_its_flat_name():
    """No parameter of RAG() shadows a setting (a `generator=` parameter once took `generator="smollm2"`)."""
    from rag import RAG
    from rag.settings import GROUP_OF

    defaults = Settings()
    for name in GROUP_OF:
        value = getattr(defaults, name)
        assert getattr(RAG(**{name: value}).settings, name) == value, name
    assert RAG(generator="smollm2", read_only=True).settings.generator == "smollm2"


class _FlatReads(ast.NodeVisitor):
    """Flat setting names read (or written) directly on a Settings object, as `file:line expression`.

    An expression is taken for a Settings object when it is a `.settings` attribute (`self.settings`,
    `rag.settings`), a call of `Settings(...)`, `.with_overrides(...)` or `.model_validate(...)`, `self` in a
    method of class `Settings`, or a name bound to one of these (a parameter annotated `Settings`, an assignment)
    in its function or an enclosing one. A group (`settings.search`, a parameter annotated `SearchSettings`) is
    not, so reading `search.top_k` or `answering.top_k` is never flagged."""

    def __init__(self, path: Path) -> None:
        self.path, self.found, self.scopes = path, [], [set()]
        self.methods_of_settings: set[int] = set()

    def is_settings(self, node: ast.AST | None) -> bool:
        if isinstance(node, ast.Attribute):
            return node.attr == "settings"
        if isinstance(node, ast.Name):
            return node.id in self.scopes[-1]
        if isinstance(node, ast.Call):
            func = node.func
            return (isinstance(func, ast.Name) and func.id == "Settings") or (
                isinstance(func, ast.Attribute) and func.attr in ("with_overrides", "model_validate")
            )
        if isinstance(node, ast.BoolOp):
            return any(self.is_settings(value) for value in node.values)
        if isinstance(node, ast.IfExp):
            return self.is_settings(node.body) or self.is_settings(node.orelse)
        return isinstance(node, ast.NamedExpr) and self.is_settings(node.value)

    def bind(self, scope: ast.AST, names: set[str]) -> None:
        """Add the names this scope's own statements (not nested functions) bind to a Settings object."""
        own, stack = [], list(ast.iter_child_nodes(scope))
        while stack:
            node = stack.pop()
            own.append(node)
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                stack.extend(ast.iter_child_nodes(node))
        self.scopes.append(names)
        for _ in range(2):  # `s = settings` then `t = s`
            for node in own:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    if _names_settings(node.annotation) or self.is_settings(node.value):
                        names.add(node.target.id)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        pairs = [(target, node.value)]
                        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                            pairs = list(zip(target.elts, node.value.elts, strict=False))  # `s, i = rag.settings, …`
                        names.update(t.id for t, v in pairs if isinstance(t, ast.Name) and self.is_settings(v))
                elif isinstance(node, ast.NamedExpr) and self.is_settings(node.value):
                    names.add(node.target.id)
        self.scopes.pop()

    def visit_Module(self, node: ast.Module) -> None:
        self.bind(node, self.scopes[-1])
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name == "Settings":
            self.methods_of_settings.update(id(stmt) for stmt in node.body)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        names = set(self.scopes[-1])
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        for arg in args:  # a parameter shadows the enclosing name
            (names.add if _names_settings(arg.annotation) else names.discard)(arg.arg)
        if id(node) in self.methods_of_settings and args:
            names.add(args[0].arg)
        self.bind(node, names)
        self.scopes.append(names)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in GROUP_OF and self.is_settings(node.value):
            self.found.append(f"{self.path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr") and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in GROUP_OF and self.is_settings(node.args[0]):
                self.found.append(f"{self.path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
        self.generic_visit(node)


def _names_settings(annotation: ast.expr | None) -> bool:
    """Is this annotation `Settings` (or `Settings | None`, or the same as a string)?"""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    return annotation is not None and any(isinstance(n, ast.Name) and n.id == "Settings" for n in ast.walk(annotation))


def flat_reads(path: Path) -> list[str]:
    reads = _FlatReads(path)
    reads.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return reads.found


def test_rag_reads_settings_by_group():
    """Inside rag/ a setting is read in its group (`settings.answering.top_k`, or `answering.top_k` where a stage
    is given its group); flat names (`settings.top_k`) are for the edges: flags, environment, `RAG(top_k=3)`."""
    found = [read for path in sorted((ROOT / "rag").rglob("*.py")) for read in flat_reads(path)]
    assert not found, "read these settings by group:\n" + "\n".join(found)


def test_the_flat_read_check_tells_settings_from_groups(tmp_path: Path):
    module = ROOT / "rag" / "_flat_read_example.py"
    source = (
        "from rag.settings import SearchSettings, Settings\n"
        "def f(settings: Settings, search: SearchSettings, rag):\n"
        "    s, index = rag.settings, rag.index\n"
        "    answering = settings.answering\n"
        "    return (settings.top_k, s.candidates, rag.settings.embedder, Settings().corpus,\n"  # 5: four flagged
        "            search.candidates, answering.top_k, settings.search.fusion, getattr(s, 'top_k'))\n"  # 6: one
        "def g(settings: SearchSettings):\n"
        "    return settings.candidates\n"
    )
    try:
        module.write_text(source, encoding="utf-8")
        lines = [read.split()[0].rsplit(":", 1)[1] for read in flat_reads(module)]
    finally:
        module.unlink()
    assert lines == ["5", "5", "5", "5", "6"]


def test_every_setting_is_a_flag_and_the_old_spellings_still_work():
    from typing import Literal, get_args, get_origin

    from rag.cli import build_parser, flags_of
    from rag.settings import GROUPS

    parser = build_parser()
    for group, model in GROUPS.items():
        command = ["serve"] if group == "server" else ["ask", "a question"]
        for name, field in model.model_fields.items():
            flag = flags_of(name)[-1]
            assert flag == "--" + name.replace("_", "-")
            if field.annotation is bool:
                given = [flag]
            elif get_origin(field.annotation) is list:
                given = [flag, "x", flag, "y"]  # repeated
            elif get_origin(field.annotation) is Literal:
                given = [flag, get_args(field.annotation)[0]]
            else:
                given = [flag, "1"]  # a value every number, text and path setting accepts
            assert getattr(parser.parse_args([*command, *given]), name) is not None, name
    old = parser.parse_args(["eval", "d.jsonl", "--index", "i", "--top-k", "3", "--every-check", "--threads", "2"])
    assert (str(old.index_dir), old.top_k, old.every_check, old.threads) == ("i", 3, True, 2)
    assert parser.parse_args(["serve", "--allowed-host", "a", "--allowed-host", "b"]).allowed_hosts == ["a", "b"]
    assert parser.parse_args(["ask", "q", "--no-title-in-chunks"]).title_in_chunks is False
