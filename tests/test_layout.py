"""The package layout shows the flow, and the imports keep to it: load → split → index → retrieve → answer."""

from __future__ import annotations

import ast
from pathlib import Path

import rag

PACKAGE = Path(rag.__file__).parent
STAGES = ("ingest", "store", "retrieval", "answering")  # in the order of the flow
SHARED = {"errors", "types", "text", "settings", "metrics", "models", "stopwatch"}  # any stage may use these
FACES = {
    "pipeline",
    "collections",
    "cli",
    "exit_codes",  # the statuses rag/cli.py exits with
    "api",
    "web",
    "evaluation",
    "calibration",
    "scale",
    "people",  # accounts and kept conversations, behind the server and the page
    "settings_reference",
    "__main__",
}


def rag_imports(path: Path) -> set[str]:
    """The rag.* top-level parts a module imports, anywhere in it (imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else ([node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        )
        found |= {n.split(".")[1] for n in names if n.startswith("rag.") and n.count(".") >= 1}
    return found


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_module_has_a_known_place():
    parts = {part_of(p) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE}
    unplaced = parts - set(STAGES) - SHARED - FACES
    assert not unplaced, f"modules outside the layout: {sorted(unplaced)}"
    assert set(STAGES) <= parts  # the stages exist as packages


def test_no_stage_imports_a_later_stage_or_a_face():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        part = part_of(path)
        if part in STAGES:
            allowed = set(STAGES[: STAGES.index(part) + 1]) | SHARED
        elif part in SHARED - {"settings"}:
            allowed = SHARED  # the shared modules use one another, never a stage or a face
        else:
            continue
        wrong += [f"{path.relative_to(PACKAGE)} imports rag.{name}" for name in rag_imports(path) - allowed]
    assert not wrong, "\n".join(wrong)


def test_the_check_would_see_a_backward_import(tmp_path: Path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from rag.answering.answer import answer\n")
    assert rag_imports(module) == {"answering"}  # found inside a function, where a lazy import hides
