"""Answers as the chat page shows them: citation chips in the answer, cited passages beside it.

Every piece of document or model text is escaped here: a document is data, never markup.
A chip is a link to its passage's id (`#cite-<turn>-<n>`); the page's script (CLICK_SCRIPT) opens
and highlights that passage instead of following the link. Ids carry the chat turn, so chips of
earlier answers still open their own passages.
"""

from __future__ import annotations

import html
import re

from rag.types import Answer, Check, Chunk, Citation, place
from rag.web.viewer import cited_url

ABSTAIN_CLASS = "abstain"
# While an answer is written: its sentences are shown once checked (rag.types.Checked), never the raw draft
WRITING = ' <span class="writing">✍️ writing, each sentence checked before it is shown…</span>'
WITHDRAWN = "Withdrawn: the sentences shown while the answer was written did not pass the checks of the whole answer."
CHIP = re.compile(r"\s*\[\[\d+\]\]\(#cite-[\d-]+\)")

CSS = """
.passage {border-left: 3px solid var(--color-accent); padding: .3em .7em; margin: .5em 0;}
.passage summary {cursor: pointer; font-size: .9em;}
.passage .where {opacity: .75;}
.passage .text {max-height: 14em; overflow-y: auto; overflow-wrap: anywhere; white-space: pre-wrap; margin-top: .3em;}
.passage.closest {border-left-color: #d97706;}
.passage.focused {background: var(--color-accent-soft); outline: 2px solid var(--color-accent); border-radius: 4px;}
.passage mark {background: #fde68a; color: #111827; border-radius: 2px;}
.passage a.open {display: inline-block; font-size: .85em; margin-top: .3em;}
.abstain {border-left: 4px solid #d97706; padding-left: .6em; font-style: italic;}
.abstain .reason {display: block; font-size: .85em; opacity: .8; font-style: normal;}
.rewritten {font-size: .9em; opacity: .85;}
.timing {font-size: .8em; opacity: .7;}
.writing {font-size: .85em; opacity: .7; font-style: italic;}
#chat a[href^="#cite-"] {display: inline-block; padding: 0 .35em; margin: 0 .1em; border-radius: .7em;
  background: var(--color-accent-soft); color: var(--color-accent); text-decoration: none; font-size: .8em;
  font-weight: 600; line-height: 1.5;}
details.turn > summary {cursor: pointer; opacity: .8;}
"""

# Opens the passage a chip points at (and the earlier turn holding it), marks it, scrolls to it.
CLICK_SCRIPT = """
<script>
document.addEventListener("click", (event) => {
  const chip = event.target.closest('a[href^="#cite-"]');
  if (!chip) return;
  const target = document.getElementById(chip.getAttribute("href").slice(1));
  event.preventDefault();
  event.stopPropagation();
  if (!target) return;
  document.querySelectorAll(".passage.focused").forEach((node) => node.classList.remove("focused"));
  for (let node = target; node; node = node.parentElement) if (node.tagName === "DETAILS") node.open = true;
  target.classList.add("focused");
  target.scrollIntoView({block: "nearest"});
}, true);
</script>
"""


# Markdown's ASCII punctuation, backslash-escaped so model or document text can never become a link, an
# image the browser fetches (a planted tracking pixel), an autolinked URL, emphasis or a heading; & < > are
# left to html.escape (a backslash before them would show, not escape)
_MARKDOWN = re.compile(r"""([!"#$%'()*+,\-./:=?@\[\\\]^_`{|}~])""")


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # what inert escaped, for reading a message back as text


def inert(text: str) -> str:
    """Text for a chat message: shown as written, never rendered as markdown or HTML."""
    return html.escape(_MARKDOWN.sub(r"\\\1", text), quote=False)


def one_line(text: str) -> str:
    """Escaped text on one line, for inside an HTML block of a chat message."""
    return html.escape(" ".join(text.split()))


def chip(turn: int, n: int) -> str:
    return f"[[{n}]](#cite-{turn}-{n})"


def answer_markdown(answer: Answer, turn: int, withdrawn: bool = False) -> str:
    """The chat message: each supported sentence followed by its citation chips, or a marked abstention
    (`withdrawn`: after checked sentences were shown while it was written, which it takes back)."""
    if answer.abstained:
        # an HTML block: markdown is not read inside it up to a blank line, which one_line rules out
        reason = f'<span class="reason">{one_line(answer.abstain_reason)}</span>' if answer.abstain_reason else ""
        taken_back = f"{WITHDRAWN} " if withdrawn else ""
        return f'<div class="{ABSTAIN_CLASS}">⚠️ {taken_back}{one_line(answer.answer)}{reason}</div>'
    shown = [inert(s.text) + " " + "".join(chip(turn, n) for n in s.citations) for s in answer.sentences if s.supported]
    if answer.answer.startswith("- "):  # a why / how / list question's answer: one item a line, as a list
        return "\n".join(f"- {item}" for item in shown)
    return " ".join(shown)


def plain_answer(message: str) -> str:
    """A chat message as plain text for the follow-up rewriter: chips and markup removed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", CHIP.sub("", message)))
    return _ESCAPED.sub(r"\1", text).strip()


def is_abstention(message: str) -> bool:
    return f'class="{ABSTAIN_CLASS}"' in message or message.startswith("⚠️")


def marked(text: str, spans: list[tuple[int, int]]) -> str:
    """Escaped text with the given (start, end) spans wrapped in <mark>."""
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        out += [html.escape(text[at:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _where(source: str, location: str, start: int, end: int, score: float) -> str:
    part = f" · {html.escape(location)}" if location else ""
    return f"{html.escape(source)}{part} · characters {start:,}–{end:,} · score {score:.2f}"


def _passage(element_id: str, n: int, where: str, body: str, opens: str, extra_class: str = "") -> str:
    return (
        f'<details class="passage{extra_class}" id="{element_id}">'
        f'<summary><b>[{n}]</b> <span class="where">{where}</span></summary>'
        f'<div class="text">{body}</div>{opens}</details>'
    )


def open_link(collection: str, chunk: Chunk | Citation, highlights: list[tuple[int, int]] = ()) -> str:
    """A link to the passage in its original file (rag/web/viewer.py), in a new tab, its sentences marked."""
    marks = [(chunk.start + a, chunk.start + b) for a, b in highlights]
    url = cited_url(collection, chunk.source, chunk.start, chunk.end, marks)
    shown = place(chunk.location, chunk.page)
    label = f"Open in {chunk.source.rsplit('/', 1)[-1]}" + (f", {shown}" if shown else "")
    return f'<a class="open" href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(label)} ↗</a>'


def _citation(turn: int, c: Citation, collection: str) -> str:
    return _passage(
        f"cite-{turn}-{c.n}",
        c.n,
        _where(c.source, place(c.location, c.page), c.start, c.end, c.score),
        marked(c.text, c.highlights),
        open_link(collection, c, c.highlights),
    )


def checks_line(answer: Answer) -> str:
    """Each check the answer went through, passed ✓ or failed ✗, with the number it read against its threshold."""

    def one(c: Check) -> str:
        figure = (
            f" {c.value:.2f}" + (f" (≥ {c.threshold:.2f})" if c.threshold is not None else "")
            if c.value is not None and c.name in ("retrieval", "supported", "answer_check")
            else ""
        )
        mark = "✓" if c.passed else ("✗ (advisory)" if c.advisory else "✗")
        return html.escape(f"{c.name}{figure} {mark}")

    return " · ".join(one(c) for c in answer.checks)


def sources_html(answer: Answer, turn: int, collection: str = "") -> str:
    """The passages behind one answer (for an abstention, the closest ones), each opened by its chip, each
    with a link to its place in the original file (in `collection`; "": the one served by default)."""
    parts = []
    if answer.rewritten_question:  # a follow-up: say what was actually looked up
        understood = html.escape(answer.rewritten_question)
        parts.append(f'<p class="rewritten">Follow-up understood as: <i>{understood}</i></p>')
    if answer.abstained:
        parts.append(
            f"<p><b>No answer in the documents</b> ({html.escape(answer.abstain_reason)}). "
            "Closest passages, for you to check:</p>"
        )
        for n, p in enumerate(answer.passages[:3], start=1):
            c = p.chunk
            where = _where(c.source, place(c.location, c.page), c.start, c.end, p.score)
            body = html.escape(c.text)
            parts.append(_passage(f"closest-{turn}-{n}", n, where, body, open_link(collection, c), " closest"))
    else:
        parts.append("<p><b>Sources</b> (click a citation to open its passage; the supporting sentence is marked)</p>")
        parts += [_citation(turn, c, collection) for c in answer.citations]
        dropped = sum(not s.supported for s in answer.sentences)
        if dropped:
            parts.append(f"<p class='timing'>{dropped} sentence(s) of the draft had no support and were left out.</p>")
    if answer.checks:
        parts.append(f"<p class='checks'>Checks: {checks_line(answer)}</p>")
    timing = answer.timings_ms
    checked = f" · first checked sentence {timing['first_checked']:.0f} ms" if timing.get("first_checked") else ""
    shown = f"first token {timing['first_token']:.0f} ms{checked} · total {timing['total']:.0f} ms"
    parts.append(f"<p class='timing'>{shown}</p>")
    return "".join(parts)


def sources_panel(turns: dict[int, tuple[str, str]]) -> str:
    """All answers' sources, newest open on top, earlier ones folded under their question."""
    if not turns:
        return ""
    ordered = sorted(turns.items(), reverse=True)
    (_, (_, newest)), earlier = ordered[0], ordered[1:]
    folded = [
        f'<details class="turn"><summary>Earlier: {html.escape(question)}</summary>{body}</details>'
        for _, (question, body) in earlier
    ]
    return newest + "".join(folded)
