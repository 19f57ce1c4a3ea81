"""The Gradio chat page: streamed answers, and the cited passages with their sources.

Document text is always escaped before it is shown: a document is data, never markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.errors import RagError
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
    timing = answer.timings_ms
    foot = f"<p class='source'>first token {timing['first_token']:.0f} ms · total {timing['total']:.0f} ms</p>"
    return head + "".join(items) + foot


def build_app(rag: RAG) -> gr.Blocks:
    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], str, str]]:
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        try:
            for item in rag.stream(message):
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
        info = gr.Markdown()
        for trigger in (question.submit, send.click):
            trigger(respond, [question, chat], [chat, sources, question], api_visibility="private")
        clear.click(lambda: "", None, sources, api_visibility="private")
        hidden_question = gr.Textbox(visible=False)
        hidden_answer = gr.JSON(visible=False)
        hidden_question.submit(ask_api, hidden_question, hidden_answer, api_name="ask")
        app.load(status, None, info, api_visibility="private")
    return app


def serve(rag: RAG, host: str = "127.0.0.1", port: int = 7860) -> None:
    rag.warm_up()  # fail early, before the server starts; keep the models warm for the first user
    app = build_app(rag)
    app.queue(default_concurrency_limit=1).launch(server_name=host, server_port=port, css=CSS, show_error=True)
