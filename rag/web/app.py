"""The Gradio chat page: streamed answers with citation chips, the cited passages, documents, status.

Generation runs one at a time by default (see rag/api/app.py serve); document text is escaped before it is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.answering.followup import turns_of
from rag.api.access import CHANGERS
from rag.api.gate import AnswerGate, Busy
from rag.collections import Collections
from rag.errors import RagError
from rag.ingest.load import READERS
from rag.people.conversations import Conversations, Turn
from rag.pipeline import RAG
from rag.retrieval.filters import DocumentFilter
from rag.settings import STRICTNESS, Settings
from rag.types import Answer, Checked
from rag.web.kept import Kept, Surroundings, sidebar, wire
from rag.web.render import (
    WRITING,
    answer_markdown,
    inert,
    is_abstention,
    plain_answer,
    sources_html,
    sources_panel,
)
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


# How often a page over watched folders refreshes its documents and status
WATCH_REFRESH_S = 2.0


def index_status(rag: RAG) -> str:
    """Which models and index are loaded, and how big the index is."""
    s, index = rag.settings, rag.index
    folder = s.paths.index_dir.resolve()
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shown = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
    watching = f" · **watching** its folders: {rag.watcher.state.describe()}" if rag.watcher else ""
    return (
        f"**Collection** `{s.paths.collection}`, index `{folder}`: "
        f"{len(index.manifest.documents)} documents, {len(index):,} chunks, {shown} · "
        f"**embedder** `{s.models.embedder}` · **generator** `{s.models.generator}` ({s.models.runtime}) · "
        f"**retrieval** {s.search.retrieval}{watching}"
    )


def may_change(request: gr.Request | None, roles: bool) -> bool:
    """Whether this user may add and remove documents: with `roles` (under rag serve's Guard, which sets
    x-rag-role and drops a client's own), only an editor; without, everyone (the page alone, in tests)."""
    if not roles:
        return True
    headers = getattr(request, "headers", None) or {}
    return headers.get("x-rag-role") in CHANGERS


class _Handlers:
    """What the page's events run: answers through the gate shared with the API and MCP, documents changed
    only by those allowed (see may_change). Method names are the page's endpoint names, so keep them."""

    def __init__(
        self, collections: Collections, gate: AnswerGate, roles: bool, conversations: Conversations | None = None
    ) -> None:
        self.collections, self.gate, self.roles = collections, gate, roles
        self.rag = collections.base
        kept = conversations or Conversations.at(self.rag.settings.paths.data_dir)
        self.kept = Kept(kept, roles, collections.names)

    def editor_only(self, request: gr.Request | None) -> None:
        if not may_change(request, self.roles):
            raise gr.Error("a reader may not change the documents")

    def asker(
        self,
        collection: str,
        top_k: float,
        min_score: float,
        min_support: float,
        min_check: float,
        strictness: str | None = None,
        only: str | None = None,
    ) -> tuple[RAG, DocumentFilter | None]:
        """The picked collection's pipeline with this user's settings (the panel's, in its order), and the filter
        of its "Only documents matching" glob (None when empty). The thresholds are the sliders', which picking a
        strictness sets to its own (see cautious): what is shown is used."""
        rag = (
            self.collections.get(collection)
            .at_strictness(strictness or None)
            .variant(
                top_k=int(top_k),
                min_retrieval_score=float(min_score),
                min_support=float(min_support),
                min_answer_check=float(min_check),
            )
        )
        return rag, DocumentFilter.parse(sources=only) if only and only.strip() else None

    def cautious(self, strictness: str | None) -> tuple[float | None, float | None, float | None]:
        """The sliders' thresholds at a strictness (the Radio gives only its choices): min_score, min_support,
        min_check, fitted for the model, or as the server was told where it was told."""
        checks = self.rag.settings.with_overrides(strictness=strictness).checks
        return checks.min_retrieval_score, checks.min_support, checks.min_answer_check

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        turns: Turns,
        conversation: str | None,
        request: gr.Request | None,
        *settings: Any,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat; when it is checked, show it with chips and its passages, and keep it in
        the user's conversation, whose kept turns are what a follow-up is read against (rag/web/kept.py).
        `settings`: the collection, then the panel's knobs (see asker)."""
        user = self.kept.user(request)
        earlier = self.kept.followups(user, conversation)
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        turn, shown, sidebar_kept = len(history) - 1, False, (gr.skip(),) * 4
        try:
            asker, only = self.asker(*settings)
            with self.gate.turn():
                for item in asker.stream(message, earlier, filter=only):
                    if isinstance(item, Answer):
                        history[-1]["content"] = answer_markdown(item, turn, withdrawn=shown and item.abstained)
                        turns = {**turns, turn: (message, sources_html(item, turn, settings[0]))}
                        kept = self.kept.record(user, conversation, Turn(message, settings[0], item))
                        yield history, sources_panel(turns), turns, "", *kept
                    elif isinstance(item, Checked):  # the sentences checked so far, with their passages
                        shown = True
                        history[-1]["content"] = answer_markdown(item.answer, turn) + WRITING
                        sources = sources_panel(
                            {**turns, turn: (message, sources_html(item.answer, turn, settings[0]))}
                        )
                        yield history, sources, gr.skip(), "", *sidebar_kept
                    elif not shown and not history[-1]["content"]:  # the draft is not shown unchecked
                        history[-1]["content"] = WRITING
                        yield history, gr.skip(), gr.skip(), "", *sidebar_kept
        except RagError as error:
            history[-1]["content"] = f"⚠️ {inert(str(error))}"
            kept = self.kept.record(user, conversation, Turn(message, settings[0], None, str(error)))
            yield history, gr.skip(), gr.skip(), "", *kept

    def retry(
        self,
        data: gr.RetryData,
        history: list[dict[str, Any]],
        turns: Turns,
        conversation: str | None,
        request: gr.Request | None,
        *knobs: Any,
    ):
        """Ask the retried message again, forgetting what came after it (kept turns too: one per question)."""
        question = _plain(history[data.index]["content"])
        kept = {turn: shown for turn, shown in turns.items() if turn < data.index}
        self.kept.forget_from(request, conversation, data.index // 2)
        yield from self.respond(question, history[: data.index], kept, conversation, request, *knobs)

    async def ask_api(self, question: str) -> dict[str, Any]:
        """One question in, the answer with citations and timings out (for gradio_client; default collection).
        Bounded as the API's answers are, as /gradio_api/run/ask does not pass through the page's queue."""
        try:
            return (await self.gate.run_async(self.rag.ask, question)).to_dict()
        except Busy as busy:
            raise gr.Error(str(busy)) from None
        except RagError as error:
            raise gr.Error(str(error)) from None

    def pick(self, collection: str | None) -> RAG:
        try:
            return self.collections.get(collection or None)
        except RagError as error:
            raise gr.Error(str(error)) from None

    # no docstrings on upload and remove: Gradio shows a handler's docstring as its API description
    def upload(
        self,
        paths: list[str] | None,
        collection: str | None = None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ):
        self.editor_only(request)
        chosen = self.pick(collection)
        try:
            rows = add_uploads(chosen, uploaded_only(paths or []), progress=True)
        except RagError as error:
            raise gr.Error(str(error)) from None
        return rows, self.documents_table(collection), index_status(chosen)

    def controls(self, request: gr.Request) -> gr.Accordion:
        return gr.Accordion(visible=may_change(request, self.roles))

    def documents_table(self, collection: str | None = None) -> list[list[Any]]:
        """Each indexed document with its chunks, then each file of its folders not indexed, with why."""
        chosen = self.pick(collection)
        indexed = [[source, count, ""] for source, count in sorted(chosen.documents().items())]
        why = sorted(chosen.not_indexed().items())
        return indexed + [[source, 0, f"not indexed: {error.split(': ', 1)[-1]}"] for source, error in why]

    def remove(self, source: str, collection: str | None = None, request: gr.Request | None = None):
        self.editor_only(request)
        chosen = self.pick(collection)
        try:
            removed = not source or chosen.remove(source.strip())
        except RagError as error:
            raise gr.Error(str(error)) from None
        if not removed:
            raise gr.Error(f"no indexed document named {source}")
        return self.documents_table(collection), index_status(chosen)

    def switch(self, collection: str):
        """Another collection: its documents and status; the conversation starts again."""
        return [], "", {}, self.documents_table(collection), index_status(self.pick(collection))


@dataclass
class _ChatPanel:
    picker: gr.Dropdown
    chat: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    clear: gr.ClearButton


@dataclass
class _Knobs:
    """The answering settings a user may change for their own questions, in the order `asker` takes them."""

    top_k: gr.Slider
    min_score: gr.Slider
    min_support: gr.Slider
    min_check: gr.Slider
    strictness: gr.Radio
    only: gr.Textbox

    def inputs(self) -> list[gr.components.Component]:
        return [self.top_k, self.min_score, self.min_support, self.min_check, self.strictness, self.only]

    def thresholds(self) -> list[gr.components.Component]:
        """What `cautious` sets."""
        return [self.min_score, self.min_support, self.min_check]


@dataclass
class _DocumentsPanel:
    accordion: gr.Accordion
    files: gr.File
    add: gr.Button
    results: gr.Dataframe
    listing: gr.Dataframe
    to_remove: gr.Textbox
    remove_button: gr.Button


def _chat_panel(collections: Collections) -> _ChatPanel:
    """The collection menu, the chat, the question box and its buttons (the page's left column)."""
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
        question = gr.Textbox(label="Question", elem_id="question", placeholder="Ask a question about the documents…")
        with gr.Row():
            send = gr.Button("Ask", variant="primary")
            clear = gr.ClearButton([chat, question], value="Clear")
    return _ChatPanel(picker, chat, question, send, clear)


def _sources_panel() -> gr.HTML:
    """The cited passages of every answer (the page's right column)."""
    with gr.Column(scale=2, min_width=320):
        return gr.HTML(label="Sources", elem_id="sources")


def _settings_panel(defaults: Settings) -> _Knobs:
    """How cautious, and the thresholds, starting at the configured ones."""
    with gr.Accordion("Settings", open=False):
        strictness = gr.Radio(
            list(STRICTNESS),
            value=defaults.checks.strictness,
            label="How cautious",
            info="lenient answers more often, and is wrong more often; strict answers only when sure. "
            "Sets the thresholds below to those fitted for the model.",
            elem_id="strictness",
        )
        top_k = gr.Slider(1, 10, value=defaults.answering.top_k, step=1, label="Passages given to the model")
        # 0 to 1: a fitted threshold may be anywhere there, and a slider refuses a value past its range
        min_score = gr.Slider(
            0.0,
            1.0,
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
            1.0,
            value=defaults.checks.min_answer_check,
            step=0.01,
            label="Abstain when P(yes) that the passages state the answer is below",
        )
        only = gr.Textbox(
            label="Only documents matching",
            placeholder="a glob of document names, e.g. reports/**/*.pdf or *.md (empty: all)",
            elem_id="only-documents",
        )
    return _Knobs(top_k, min_score, min_support, min_check, strictness, only)


def _documents_panel() -> _DocumentsPanel:
    """Adding, listing and removing documents (hidden from readers on load, see _wire_page_load)."""
    with gr.Accordion("Documents", open=False) as documents:
        # types are checked per file by add_uploads, so one wrong file does not refuse the whole batch
        files = gr.File(label=f"Add documents ({', '.join(sorted(READERS))})", file_count="multiple", elem_id="upload")
        add = gr.Button("Add to the index", elem_id="add-documents")
        results = gr.Dataframe(
            headers=["file", "result", "reason"],
            label="Upload results",
            interactive=False,
            elem_id="upload-results",
        )
        listing = gr.Dataframe(
            headers=["document", "chunks", "note"], label="Documents", interactive=False, elem_id="documents"
        )
        with gr.Row():
            to_remove = gr.Textbox(label="Remove a document (its name as listed)", scale=3)
            remove_button = gr.Button("Remove", scale=1)
    return _DocumentsPanel(documents, files, add, results, listing, to_remove, remove_button)


def _wire_asking(
    handlers: _Handlers,
    panel: _ChatPanel,
    knobs: _Knobs,
    sources: gr.HTML,
    turns: gr.State,
    kept: list[gr.components.Component],
) -> None:
    """A question (typed, an example or a retry) streams its answer into the chat and its passages into the
    sources, and is kept: `kept` is the conversation's state, then what the sidebar shows of it. Clearing the
    chat forgets the chat's sources (the kept conversation stays in the sidebar)."""
    # one bound method for the three ways of asking: Gradio keys the concurrency group on the function's id,
    # so they share one queue limit, as one function would
    respond = handlers.respond
    settings = [panel.picker, *knobs.inputs()]
    chat_out = [panel.chat, sources, turns, panel.question, *kept]
    asked = [panel.question, panel.chat, turns, kept[0], *settings]
    for trigger in (panel.question.submit, panel.send.click):
        trigger(respond, asked, chat_out, api_visibility="private")
    picked = panel.chat.example_select(_example_text, None, panel.question, api_visibility="private")
    picked.then(respond, asked, chat_out, api_visibility="private")
    panel.chat.retry(handlers.retry, [panel.chat, turns, kept[0], *settings], chat_out, api_visibility="private")
    for emptied in (panel.clear.click, panel.chat.clear):
        emptied(lambda: ("", {}), None, [sources, turns], api_visibility="private")
    # picking a strictness moves the sliders to its thresholds (a user's pick only: not on load)
    knobs.strictness.input(handlers.cautious, knobs.strictness, knobs.thresholds(), api_visibility="private")


def _wire_documents(handlers: _Handlers, panel: _DocumentsPanel, picker: gr.Dropdown, info: gr.Markdown) -> None:
    """Adding and removing documents, one change at a time (one concurrency id), in the picked collection."""
    outputs = [panel.listing, info]
    panel.add.click(
        handlers.upload, [panel.files, picker], [panel.results, *outputs], api_name="upload", concurrency_id="index"
    )
    panel.remove_button.click(
        handlers.remove, [panel.to_remove, picker], outputs, api_name="remove", concurrency_id="index"
    )


def _wire_switch(handlers: _Handlers, picker: gr.Dropdown, shown: list[gr.components.Component]) -> None:
    """Picking another collection shows its documents and status, in a new conversation."""
    picker.input(handlers.switch, picker, shown, api_visibility="private")


def _wire_page_load(
    app: gr.Blocks, handlers: _Handlers, picker: gr.Dropdown, documents: _DocumentsPanel, info: gr.Markdown
) -> None:
    """On each page load: the collections as they are now, the documents, the status, and the controls."""
    app.load(lambda: gr.Dropdown(choices=handlers.collections.names()), None, picker, api_visibility="private")
    app.load(handlers.documents_table, None, documents.listing, api_visibility="private")
    app.load(lambda: index_status(handlers.rag), None, info, api_visibility="private")
    # a reader sees the documents listed elsewhere (the status line) but not the controls that change them
    app.load(handlers.controls, None, documents.accordion, api_visibility="private")
    if handlers.rag.watcher is not None:  # watched folders change under the page: show what is being indexed
        tick = gr.Timer(WATCH_REFRESH_S)
        tick.tick(handlers.documents_table, picker, documents.listing, api_visibility="private", queue=False)
        tick.tick(lambda name: index_status(handlers.pick(name)), picker, info, api_visibility="private", queue=False)


def _add_ask_endpoint(handlers: _Handlers) -> None:
    """/ask for gradio_client: hidden components, so that the endpoint has typed inputs and outputs."""
    hidden_question = gr.Textbox(visible=False)
    hidden_answer = gr.JSON(visible=False)
    hidden_question.submit(handlers.ask_api, hidden_question, hidden_answer, api_name="ask")


def build_app(
    collections: Collections,
    gate: AnswerGate | None = None,
    roles: bool = False,
    conversations: Conversations | None = None,
) -> gr.Blocks:
    """The page over every collection; the menu picks the one asked, listed and added to. `gate`: shared
    with the API and MCP, so that answers are generated in the order asked, whichever face asked. `roles`:
    only editors change documents (see may_change), and each user keeps their own conversations (under rag
    serve's Guard). `conversations`: where they are kept (default: the data folder's)."""
    handlers = _Handlers(collections, gate or AnswerGate(), roles, conversations)
    # components are made, and events added, in page order: Gradio numbers them in that order
    with gr.Blocks(title="rag: cited answers from your documents") as app:
        gr.Markdown(
            "## Ask your documents\nAnswers come only from the indexed documents; "
            "every sentence cites the passage that supports it."
        )
        turns = gr.State({})
        conversation = gr.State(None)  # the kept conversation's id (rag/web/kept.py); None: not started yet
        bar = sidebar()
        with gr.Row():
            chat = _chat_panel(collections)
            sources = _sources_panel()
        knobs = _settings_panel(handlers.rag.settings)
        documents = _documents_panel()
        info = gr.Markdown(elem_id="status")

        _wire_asking(handlers, chat, knobs, sources, turns, [conversation, *bar.shown()])
        _wire_documents(handlers, documents, chat.picker, info)
        _wire_switch(handlers, chat.picker, [chat.chat, sources, turns, documents.listing, info])
        _wire_page_load(app, handlers, chat.picker, documents, info)
        around = Surroundings(
            conversation,
            [chat.chat, sources, turns],
            [chat.clear.click, chat.chat.clear, chat.picker.input],
            chat.picker,
            lambda name: (handlers.documents_table(name), index_status(handlers.pick(name))),
            [documents.listing, info],
        )
        wire(app, handlers.kept, bar, around)
        _add_ask_endpoint(handlers)
    return app
