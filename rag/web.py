"""The Gradio chat page: streamed answers, and the cited passages with their sources.

Document text is always escaped before it is shown: a document is data, never markup.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.load import LOADERS, LoadError, file_info
from rag.pipeline import RAG
from rag.types import Answer

EXAMPLES = [
    "Why does China treat defectors as economic migrants?",
    "Which agreement does Beijing honor?",
    "What punishments do repatriated defectors face?",
    "What does the new law say about territorial integrity?",
    "What is the population of Pyongyang?",
]

CSS = """
.passage {border-left: 3px solid #6b7280; padding: .4em .8em; margin: .6em 0; max-height: 14em; overflow-y: auto;}
.passage .source {font-size: .85em; opacity: .75;}
.abstained {border-left-color: #d97706;}
"""


def citations_html(answer: Answer) -> str:
    """The passages behind an answer (or, for an abstention, the closest ones), escaped."""
    if answer.abstained:
        rows = [
            (n, p.chunk.source, p.chunk.page, p.chunk.text, p.score) for n, p in enumerate(answer.passages[:3], start=1)
        ]
        head = f"<p><b>No answer in the documents</b> ({html.escape(answer.abstain_reason)}). Closest passages:</p>"
    else:
        rows = [(c.n, c.source, c.page, c.text, c.score) for c in answer.citations]
        head = "<p><b>Sources</b></p>"
    items = []
    for n, source, page, text, score in rows:
        where = html.escape(source) + (f", page {page}" if page else "")
        items.append(
            f'<div class="passage{" abstained" if answer.abstained else ""}" id="cite-{n}">'
            f'<div class="source">[{n}] {where} · score {score:.2f}</div>{html.escape(text)}</div>'
        )
    if answer.rewritten_question:  # a follow-up: say what was actually looked up
        understood = html.escape(answer.rewritten_question)
        head = f'<p class="rewritten">Follow-up understood as: <i>{understood}</i></p>{head}'
    timing = answer.timings_ms
    foot = f"<p class='source'>first token {timing['first_token']:.0f} ms · total {timing['total']:.0f} ms</p>"
    return head + "".join(items) + foot


def upload_folder(rag: RAG) -> Path:
    """Uploaded files are kept beside the index, so later updates keep them (and a user can see them)."""
    return rag.settings.index_dir.resolve().parent / "uploads"


def add_uploads(rag: RAG, paths: list[str], progress: bool = False) -> list[list[str]]:
    """Check each upload's type and size, copy the good ones into the upload folder, index that folder.
    One row per file: name, result (added, updated, unchanged, skipped) and the reason when skipped."""
    rows: list[list[str]] = []
    folder = upload_folder(rag)
    limit = int(rag.settings.max_file_mb * 1024 * 1024)
    copied: dict[str, str] = {}
    for path in map(Path, paths or []):
        name = path.name.lstrip(".") or "upload"
        if path.suffix.lower() not in LOADERS:
            supported = ", ".join(sorted(LOADERS))
            rows.append([name, "skipped", f"unsupported type '{path.suffix}' (supported: {supported})"])
            continue
        try:
            file_info(path, limit)  # the same size and file-kind checks as `rag index`
        except LoadError as error:
            rows.append([name, "skipped", str(error).split(": ", 1)[-1]])
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        digest = _digest(path)
        if target.exists() and _digest(target) != digest:  # another file of that name: keep both
            target = folder / f"{target.stem}-{digest[:8]}{target.suffix}"
        shutil.copyfile(path, target)
        copied[str(target.resolve())] = name
    if copied:
        report = rag.build([folder], progress=progress)
        base = rag.settings.index_dir.resolve().parent
        outcome = {str((base / s).resolve()): kind for kind in ("added", "updated", "unchanged")
                   for s in getattr(report, kind)}  # fmt: skip
        reasons = {str((base / item["path"]).resolve()): item["error"] for item in report.skipped}
        for target, name in copied.items():
            if target in reasons:
                rows.append([name, "skipped", reasons[target].split(": ", 1)[-1]])
                Path(target).unlink(missing_ok=True)  # not kept: it would be reported again on every update
            else:
                rows.append([name, outcome.get(target, "unchanged"), ""])
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plain(content: Any) -> str:
    """A chat message's text, whether Gradio gives it as a string or as a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_plain(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


def conversation_turns(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(question, answer) pairs from the chat so far; a question without a real answer is left out."""
    turns, asked = [], None
    for message in history:
        text = _plain(message.get("content")).strip()
        if message.get("role") == "user":
            asked = text
        elif asked and text and not text.startswith("⚠️"):
            turns.append((asked, text))
            asked = None
    return turns


def build_app(rag: RAG) -> gr.Blocks:
    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], str, str]]:
        turns = conversation_turns(history)  # this browser session's own conversation
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        try:
            for item in rag.stream(message, turns):
                if isinstance(item, Answer):
                    shown = ("⚠️ " if item.abstained else "") + item.answer
                    history[-1]["content"] = shown
                    yield history, citations_html(item), ""
                else:
                    history[-1]["content"] += item
                    yield history, "", ""
        except RagError as error:
            history[-1]["content"] = f"⚠️ {error}"
            yield history, "", ""

    def ask_api(question: str) -> dict[str, Any]:
        """One question in, the answer with citations and timings out (for gradio_client)."""
        try:
            return rag.ask(question).to_dict()
        except RagError as error:
            raise gr.Error(str(error)) from None

    def upload(paths: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)):  # noqa: B008
        try:
            rows = add_uploads(rag, paths or [], progress=True)
        except RagError as error:
            raise gr.Error(str(error)) from None
        return rows, documents_table(), status()

    def documents_table() -> list[list[Any]]:
        return [[source, count] for source, count in sorted(rag.documents().items())]

    def remove(source: str):
        if source and not rag.remove(source.strip()):
            raise gr.Error(f"no indexed document named {source}")
        return documents_table(), status()

    def status() -> str:
        s = rag.settings
        index = rag.index
        return (
            f"Index `{s.index_dir}`: {len(index.manifest.documents)} documents, {len(index)} chunks · "
            f"embedder `{s.embedder}` · generator `{s.generator}` ({s.runtime})"
        )

    with gr.Blocks(title="rag: cited answers from your documents") as app:
        gr.Markdown("## Ask your documents\nAnswers come only from the indexed documents, with checked citations.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, sanitize_html=True)
                question = gr.Textbox(label="Question", placeholder="Ask a question about the documents…")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    clear = gr.ClearButton([chat, question], value="Clear")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
            with gr.Column(scale=2):
                sources = gr.HTML(label="Sources")
        with gr.Accordion("Documents", open=False):
            # types are checked per file by add_uploads, so one wrong file does not refuse the whole batch
            files = gr.File(label=f"Add documents ({', '.join(sorted(LOADERS))})", file_count="multiple")
            add = gr.Button("Add to the index")
            results = gr.Dataframe(headers=["file", "result", "reason"], label="Upload results", interactive=False)
            listing = gr.Dataframe(headers=["document", "chunks"], label="Indexed documents", interactive=False)
            with gr.Row():
                to_remove = gr.Textbox(label="Remove a document (its name as listed)", scale=3)
                remove_button = gr.Button("Remove", scale=1)
        info = gr.Markdown()
        add.click(upload, files, [results, listing, info], api_name="upload", concurrency_id="index")
        remove_button.click(remove, to_remove, [listing, info], api_name="remove", concurrency_id="index")
        app.load(documents_table, None, listing, api_visibility="private")
        for trigger in (question.submit, send.click):
            trigger(respond, [question, chat], [chat, sources, question], api_visibility="private")
        clear.click(lambda: "", None, sources, api_visibility="private")
        hidden_question = gr.Textbox(visible=False)
        hidden_answer = gr.JSON(visible=False)
        hidden_question.submit(ask_api, hidden_question, hidden_answer, api_name="ask")
        app.load(status, None, info, api_visibility="private")
    return app


def serve(
    rag: RAG,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    concurrency: int = 1,
    max_queue: int = 100,
) -> None:
    """Serve the chat page. Generation runs `concurrency` at a time (one keeps a 2-core CPU's answers
    fast; more only share the cores), others wait in a bounded queue; index updates run beside them
    and swap the new index in when saved, so answers in flight are not disturbed."""
    if host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        print(f"rag: warning: serving on {host} without --auth: anyone who can reach it can read the documents",
              file=sys.stderr)  # fmt: skip
    rag.warm_up()  # fail early, before the server starts; keep the models warm for the first user
    app = build_app(rag)
    app.queue(default_concurrency_limit=concurrency, max_size=max_queue).launch(
        server_name=host, server_port=port, css=CSS, show_error=True, auth=auth,
        max_file_size=int(rag.settings.max_file_mb * 1024 * 1024),
    )  # fmt: skip
