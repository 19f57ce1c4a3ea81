"""docs/settings.md, made from the settings' own groups and descriptions: `python -m rag.settings_reference`
rewrites it (a test fails when it is out of date)."""

from __future__ import annotations

import sys

from rag.cli import flags_of
from rag.settings import GROUPS, PROJECT_ROOT, Settings

REFERENCE = PROJECT_ROOT / "docs" / "settings.md"
HEAD = """# Settings

One typed object, `rag.Settings` (`rag/settings.py`), with defaults, in seven groups. A `rag.toml` in the working
directory (or the file named by `RAG_CONFIG` / `--config`) overrides them, `RAG_*` environment variables
override the file, and CLI flags override everything.

Each setting has a flat name and a place in its group, and either names it everywhere:

| where | flat name | in its group |
|---|---|---|
| Python | `RAG(top_k=3)`, `settings.top_k` | `settings.answering.top_k` |
| environment | `RAG_TOP_K=3` | `RAG_ANSWERING__TOP_K=3` |
| `rag.toml` | `top_k = 3` | `[answering]` then `top_k = 3` |
| CLI | `--top-k 3` (every setting has its flag, below) | |

Where both spellings are given in the environment, the grouped one wins. A yes/no setting's flag has a `--no-`
twin (`--no-title-in-chunks`), a list's is repeated (`--corpus a --corpus b`), and the server's flags are those of
`rag serve`.

Values that depend on the machine (`runtime`, `dtype`) and the fitted thresholds
are resolved when the settings are made, so reports and the chat page name what ran. Models: [models](models.md).

This page is generated from the settings' descriptions by `python -m rag.settings_reference`.
"""


def reference() -> str:
    lines = [HEAD]
    for group, model in GROUPS.items():
        title = Settings.model_fields[group].description
        lines += [
            f"## {title} (`[{group}]`)",
            "",
            " ".join((model.__doc__ or "").split()),
            "",
            "| setting | flag | environment | default | what |",
            "|---|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            shown = extra.get("shown") or ("unset" if field.default is None else repr(field.default).strip("'"))
            env = f"`RAG_{name.upper()}`, `RAG_{group.upper()}__{name.upper()}`"
            flags = ", ".join(f"`{flag}`" for flag in flags_of(name))
            lines.append(f"| `{name}` | {flags} | {env} | {shown} | {field.description} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    REFERENCE.write_text(reference(), encoding="utf-8")
    print(f"wrote {REFERENCE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
