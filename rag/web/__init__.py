"""The chat page (Gradio): `app` wires the page, `render` turns answers into escaped HTML,
`uploads` checks and indexes files added from the browser."""

from rag.web.app import build_app, conversation_turns
from rag.web.render import answer_markdown, sources_html
from rag.web.uploads import add_uploads

__all__ = ["add_uploads", "answer_markdown", "build_app", "conversation_turns", "sources_html"]
