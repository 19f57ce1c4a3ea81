"""A kept conversation as a file to keep or share: Markdown to read (each answer with its numbered citations and
the passages they point to), or JSON to process (each answer as `rag ask --json` gives it)."""

from __future__ import annotations

import json
import re
from typing import Any

from rag.people.conversations import Conversation, Turn, when
from rag.types import place

FORMATS = ("md", "json")
CLOSEST = 3  # an abstention's closest passages shown, as on the page


def to_json(conversation: Conversation) -> str:
    data: dict[str, Any] = {
        "id": conversation.id,
        "title": conversation.title,
        "user": conversation.user,
        "created": when(conversation.created),
        "updated": when(conversation.updated),
        "turns": [
            {
                "question": turn.question,
                "collection": turn.collection,
                "asked": when(turn.asked),
                "answer": turn.answer.to_dict() if turn.answer is not None else None,
                "error": turn.error,
            }
            for turn in conversation.turns
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def to_markdown(conversation: Conversation) -> str:
    head = [
        f"# {_line(conversation.title)}",
        "",
        f"{len(conversation.turns)} question(s), {when(conversation.created)} to {when(conversation.updated)} (UTC)",
    ]
    return "\n".join([*head, *(line for turn in conversation.turns for line in _turn(turn))]) + "\n"


def _turn(turn: Turn) -> list[str]:
    lines = ["", f"## {_line(turn.question)}", "", f"*{turn.collection} · {when(turn.asked)}*", ""]
    answer = turn.answer
    if answer is None:
        return [*lines, f"Error: {turn.error}"]
    if answer.abstained:
        lines += [f"**{answer.answer}** ({answer.abstain_reason})"]
        shown = enumerate(answer.passages[:CLOSEST], start=1)
        closest = [(n, p.chunk.source, place(p.chunk.location, p.chunk.page), p.chunk.text) for n, p in shown]
        return [*lines, "", "Closest passages:", *_passages(closest)] if closest else lines
    lines.append(answer.answer)
    cited = [(c.n, c.source, place(c.location, c.page), c.text) for c in answer.citations]
    return [*lines, *_passages(cited)]


def _passages(passages: list[tuple[int, str, str, str]]) -> list[str]:
    """Each passage under its number and where it is, quoted."""
    out = []
    for n, source, where, text in passages:
        out += ["", f"[{n}] {source}" + (f", {where}" if where else ""), ""]
        out += ["> " + line if line.strip() else ">" for line in text.splitlines() or [""]]
    return out


def _line(text: str) -> str:
    """Text for a heading: one line, and never read as more markup than the heading itself."""
    return re.sub(r"^#+\s*", "", " ".join(text.split()))


def export(conversation: Conversation, form: str) -> str:
    """The conversation in `form`, one of FORMATS."""
    return to_markdown(conversation) if form == "md" else to_json(conversation)


def file_name(conversation: Conversation, form: str) -> str:
    """A file name from the title: letters, digits and dashes only (safe in a Content-Disposition header)."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-")[:60].lower() or "conversation"
    return f"{stem}.{form}"
