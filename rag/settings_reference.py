"""docs/settings.md, made from the settings' own groups and descriptions: `python -m rag.settings_reference`
rewrites it (a test fails when it is out of date)."""

from __future__ import annotations

import sys

from rag.settings import PROJECT_ROOT, Settings

REFERENCE = PROJECT_ROOT / "docs" / "settings.md"
GROUPS = {"paths": "Where things live", "models": "Models and runtime", "ingest": "Files and splitting",
          "retrieval": "Retrieval", "answering": "Answering", "checks": "The checks (abstention)"}  # fmt: skip
HEAD = """# Settings

One typed object, `rag.Settings` (`rag/settings.py`), with defaults. A `rag.toml` in the working directory (or
the file named by `RAG_CONFIG` / `--config`) overrides them, `RAG_*` environment variables override the file,
and CLI flags override everything: `RAG_GENERATOR=qwen-0.5b`, `--runtime transformers --dtype bfloat16`,
`top_k = 5` in `rag.toml`. Values that depend on the machine (`runtime`, `dtype`) and the fitted thresholds
are resolved when the settings are made, so reports and the chat page name what ran. Models: [models](models.md).

This page is generated from the settings' descriptions by `python -m rag.settings_reference`.
"""


def reference() -> str:
    lines = [HEAD]
    fields = Settings.model_fields
    for group, title in GROUPS.items():
        lines += [f"## {title}", "", "| setting | environment | default | what |", "|---|---|---|---|"]
        for name, field in fields.items():
            extra = field.json_schema_extra or {}
            if not isinstance(extra, dict) or extra.get("group") != group:
                continue
            shown = extra.get("shown") or ("unset" if field.default is None else repr(field.default).strip("'"))
            lines.append(f"| `{name}` | `RAG_{name.upper()}` | {shown} | {field.description} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    REFERENCE.write_text(reference(), encoding="utf-8")
    print(f"wrote {REFERENCE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
