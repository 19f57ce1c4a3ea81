"""The Gradio chat page: streamed answers with citation chips, the cited passages, documents, status.

Generation runs one at a time by default (see rag/api/app.py serve); document text is escaped before it is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.answering.followup import turns_of
from rag.api.access import Role
from rag.api.gate import AnswerGate, Busy
from rag.collections import Collections
from rag.errors import RagError
from rag.ingest.load import LOADERS
from rag.pipeline import RAG
from rag.types import Answer
from rag.web.render import answer_markdown, inert, is_abstention, plain_answer, sources_html, sources_panel
from rag.web.uploads import add_uploads, uploaded_only

# The why-question is not first: its answer check P(Yes) sits at 0.32-0.34, at llama.cpp's threshold 0.33,
# so it abstains or not as the index grows (docs/measurements.md); the others score 0.66-0.82
EXAMPLES = [
    "What punishments do repatriated defectors face?",
    "Which agreement does Beijing honor?",
    "What does the new law say about territorial integrity?",
    "Why does China treat defectors as economic migrants?",
]


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
    messages = ((m.get("role"), _plain(m.get("content")).strip()) for m in history)
    return [(asked, plain_answer(answer)) for asked, answer in turns_of(messages, lambda t: not is_abstention(t))]


def _example_text(event: gr.SelectData) -> str:
    return event.value["text"]


Turns = dict[int, tuple[str, str]]  # chat position of an answer -> (question, its sources' HTML)


def index_status(rag: RAG) -> str:
    """Which models and index are loaded, and how big the index is."""
    s, index = rag.settings, rag.index
    folder = s.paths.index_dir.resolve()
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shown = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
    return (
        f"**Collection** `{s.paths.collection}`, index `{folder}`: "
        f"{len(index.manifest.documents)} documents, {len(index):,} chunks, {shown} · "
        f"**embedder** `{s.models.embedder}` · **generator** `{s.models.generator}` ({s.models.runtime}) · "
        f"**retrieval** {s.search.retrieval}"
    )


def may_change(request: gr.Request | None, roles: bool) -> bool:
    """Whether this user may add and remove documents: with `roles` (under rag serve's Guard, which sets
    x-rag-role and drops a client's own), only an editor; without, everyone (the page alone, in tests)."""
    if not roles:
        return True
    headers = getattr(request, "headers", None) or {}
    return headers.get("x-rag-role") == Role.EDITOR.value


def build_app(collections: Collections, gate: AnswerGate | None = None, roles: bool = False) -> gr.Blocks:
    """The page over every collection; the menu picks the one asked, listed and added to. `gate`: shared
    with the API and MCP, so that answers are generated in the order asked, whichever face asked. `roles`:
    only editors change documents (see may_change)."""
    rag, gate = collections.base, gate or AnswerGate()
    defaults = rag.settings

    def editor_only(request: gr.Request | None) -> None:
        if not may_change(request, roles):
            raise gr.Error("a reader may not change the documents")

    def respond(
        message: str,
        history: list[dict[str, Any]],
        turns: Turns,
        collection: str,
        top_k: float,
        min_score: float,
        min_support: float,
        min_check: float,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat; when it is checked, show it with chips and its passages."""
        earlier = conversation_turns(history)  # this browser session's own conversation
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        turn, draft = len(history) - 1, ""
        try:
            asker = collections.get(collection).variant(
                top_k=int(top_k),
                min_retrieval_score=float(min_score),
                min_support=float(min_support),
                min_answer_check=float(min_check),
            )
            with gate.turn():
                for item in asker.stream(message, earlier):
                    if isinstance(item, Answer):
                        history[-1]["content"] = answer_markdown(item, turn)
                        turns = {**turns, turn: (message, sources_html(item, turn))}
                        yield history, sources_panel(turns), turns, ""
                    else:
                        draft += item
                        history[-1]["content"] = inert(draft)
                        yield history, gr.skip(), gr.skip(), ""
        except RagError as error:
            history[-1]["content"] = f"⚠️ {inert(str(error))}"
            yield history, gr.skip(), gr.skip(), ""

    def retry(data: gr.RetryData, history: list[dict[str, Any]], turns: Turns, *knobs: float):
        """Ask the retried message again, forgetting what came after it."""
        question = _plain(history[data.index]["content"])
        kept = {turn: shown for turn, shown in turns.items() if turn < data.index}
        yield from respond(question, history[: data.index], kept, *knobs)

    async def ask_api(question: str) -> dict[str, Any]:
        """One question in, the answer with citations and timings out (for gradio_client; default collection).
        Bounded as the API's answers are, as /gradio_api/run/ask does not pass through the page's queue."""
        try:
            return (await gate.run_async(rag.ask, question)).to_dict()
        except Busy as busy:
            raise gr.Error(str(busy)) from None
        except RagError as error:
            raise gr.Error(str(error)) from None

    def pick(collection: str | None) -> RAG:
        try:
            return collections.get(collection or None)
        except RagError as error:
            raise gr.Error(str(error)) from None

    def upload(
        paths: list[str] | None,
        collection: str | None = None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):  # noqa: B008
        editor_only(request)
        chosen = pick(collection)
        try:
            rows = add_uploads(chosen, uploaded_only(paths or []), progress=True)
        except RagError as error:
            raise gr.Error(str(error)) from None
        return rows, documents_table(collection), index_status(chosen)

    def controls(request: gr.Request) -> gr.Accordion:
        return gr.Accordion(visible=may_change(request, roles))

    def documents_table(collection: str | None = None) -> list[list[Any]]:
        return [[source, count] for source, count in sorted(pick(collection).documents().items())]

    def remove(source: str, collection: str | None = None, request: gr.Request | None = None):
        editor_only(request)
        chosen = pick(collection)
        try:
            removed = not source or chosen.remove(source.strip())
        except RagError as error:
            raise gr.Error(str(error)) from None
        if not removed:
            raise gr.Error(f"no indexed document named {source}")
        return documents_table(collection), index_status(chosen)

    def switch(collection: str):
        """Another collection: its documents and status; the conversation starts again."""
        return [], "", {}, documents_table(collection), index_status(pick(collection))

    with gr.Blocks(title="rag: cited answers from your documents") as app:
        gr.Markdown(
            "## Ask your documents\nAnswers come only from the indexed documents; "
            "every sentence cites the passage that supports it."
        )
        turns = gr.State({})
        with gr.Row():
            with gr.Column(scale=3, min_width=320):
                picker = gr.Dropdown(
                    choices=collections.names(),
                    value=collections.default,
                    label="Collection",
                    elem_id="collection",
                    interactive=True,
                )
                chat = gr.Chatbot(
                    label="Chat",
                    elem_id="chat",
                    height=480,
                    sanitize_html=True,
                    buttons=["copy", "copy_all"],
                    examples=[{"text": q} for q in EXAMPLES],
                    feedback_options=None,
                    placeholder="Ask a question about the documents, or pick an example.",
                )
                question = gr.Textbox(
                    label="Question", elem_id="question", placeholder="Ask a question about the documents…"
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    clear = gr.ClearButton([chat, question], value="Clear")
            with gr.Column(scale=2, min_width=320):
                sources = gr.HTML(label="Sources", elem_id="sources")
        with gr.Accordion("Settings", open=False):
            top_k = gr.Slider(1, 10, value=defaults.answering.top_k, step=1, label="Passages given to the model")
            min_score = gr.Slider(
                0.0,
                0.6,
                value=defaults.checks.min_retrieval_score,
                step=0.01,
                label="Abstain when the closest passage or sentence scores below",
            )
            min_support = gr.Slider(
                0.2,
                0.8,
                value=defaults.checks.min_support,
                step=0.01,
                label="Drop a sentence whose support is below (higher: stricter)",
            )
            min_check = gr.Slider(
                0.0,
                0.9,
                value=defaults.checks.min_answer_check,
                step=0.01,
                label="Abstain when P(yes) that the passages state the answer is below",
            )
        with gr.Accordion("Documents", open=False) as documents:
            # types are checked per file by add_uploads, so one wrong file does not refuse the whole batch
            files = gr.File(
                label=f"Add documents ({', '.join(sorted(LOADERS))})", file_count="multiple", elem_id="upload"
            )
            add = gr.Button("Add to the index", elem_id="add-documents")
            results = gr.Dataframe(
                headers=["file", "result", "reason"],
                label="Upload results",
                interactive=False,
                elem_id="upload-results",
            )
            listing = gr.Dataframe(
                headers=["document", "chunks"], label="Indexed documents", interactive=False, elem_id="documents"
            )
            with gr.Row():
                to_remove = gr.Textbox(label="Remove a document (its name as listed)", scale=3)
                remove_button = gr.Button("Remove", scale=1)
        info = gr.Markdown(elem_id="status")

        knobs = [picker, top_k, min_score, min_support, min_check]
        chat_out = [chat, sources, turns, question]
        for trigger in (question.submit, send.click):
            trigger(respond, [question, chat, turns, *knobs], chat_out, api_visibility="private")
        picked = chat.example_select(_example_text, None, question, api_visibility="private")
        picked.then(respond, [question, chat, turns, *knobs], chat_out, api_visibility="private")
        chat.retry(retry, [chat, turns, *knobs], chat_out, api_visibility="private")
        for emptied in (clear.click, chat.clear):
            emptied(lambda: ("", {}), None, [sources, turns], api_visibility="private")
        add.click(upload, [files, picker], [results, listing, info], api_name="upload", concurrency_id="index")
        remove_button.click(remove, [to_remove, picker], [listing, info], api_name="remove", concurrency_id="index")
        picker.input(switch, picker, [chat, sources, turns, listing, info], api_visibility="private")
        app.load(lambda: gr.Dropdown(choices=collections.names()), None, picker, api_visibility="private")
        app.load(documents_table, None, listing, api_visibility="private")
        app.load(lambda: index_status(rag), None, info, api_visibility="private")
        # a reader sees the documents listed elsewhere (the status line) but not the controls that change them
        app.load(controls, None, documents, api_visibility="private")
        hidden_question = gr.Textbox(visible=False)
        hidden_answer = gr.JSON(visible=False)
        hidden_question.submit(ask_api, hidden_question, hidden_answer, api_name="ask")
    return app
