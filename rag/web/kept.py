"""The page's kept conversations (rag/people/conversations.py): each answer is kept in the asker's conversation as
it is shown, and a sidebar lists their conversations, newest first, to search, reopen, rename, delete or export.

Who asks is the Guard's x-rag-user under `rag serve` (a client's own header is dropped there); the page alone
(build_app in tests) is the one local user. Every store call names that user, so an id sent by a forged event
reaches nobody else's conversation.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.answering.prompt import Turn as Exchange
from rag.api.access import LOCAL
from rag.errors import RagError
from rag.people.conversations import Conversation, Conversations, Turn
from rag.web.render import answer_markdown, inert, plain_answer, sources_html, sources_panel

Turns = dict[int, tuple[str, str]]  # chat position of an answer -> (question, its sources' HTML), as app.py keeps
WIDE = 768  # px: up to this window width, Gradio's sidebar covers the whole page
FORMS = (("md", "Markdown"), ("json", "JSON"))  # the exports offered (rag/people/export.py)


@dataclass
class Sidebar:
    panel: gr.Sidebar
    width: gr.Number  # the browser's window width, as the load event's script reads it
    account: gr.HTML
    new: gr.Button
    search: gr.Textbox
    listing: gr.Radio
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    export: gr.HTML

    def shown(self) -> list[gr.components.Component]:
        """What an answer kept, or a conversation opened, updates here (Kept.after's order)."""
        return [self.listing, self.title, self.export]


def sidebar() -> Sidebar:
    """The sidebar's components, made where it is called (components are numbered in page order)."""
    with gr.Sidebar(label="Conversations", open=False, elem_id="sidebar") as panel:
        width = gr.Number(visible=False)
        account = gr.HTML(elem_id="account")
        new = gr.Button("New chat", elem_id="new-chat", variant="primary")
        search = gr.Textbox(
            label="Search conversations", placeholder="a word of a title, question or answer", elem_id="search-chats"
        )
        listing = gr.Radio([], label="Conversations", elem_id="conversations", interactive=True)
        title = gr.Textbox(label="Title", elem_id="conversation-title", placeholder="pick or start a conversation")
        with gr.Row():
            rename = gr.Button("Rename", elem_id="rename-chat", size="sm")
            delete = gr.Button("Delete", elem_id="delete-chat", size="sm", variant="stop")
        export = gr.HTML(elem_id="export-chat")
    return Sidebar(panel, width, account, new, search, listing, title, rename, delete, export)


def replay(conversation: Conversation) -> tuple[list[dict[str, Any]], Turns]:
    """The chat and the sources panel's turns of a kept conversation, as they were shown when asked."""
    history: list[dict[str, Any]] = []
    turns: Turns = {}
    for turn in conversation.turns:
        at = len(history) + 1
        history.append({"role": "user", "content": turn.question})
        if turn.answer is None:
            history.append({"role": "assistant", "content": f"⚠️ {inert(turn.error)}"})
        else:
            history.append({"role": "assistant", "content": answer_markdown(turn.answer, at)})
            turns[at] = (turn.question, sources_html(turn.answer, at, turn.collection))
    return history, turns


def export_links(conversation: str | None) -> str:
    """Links to /conversations (rag/api/conversations.py), relative so that a proxy's path prefix is kept."""
    if not conversation:
        return ""
    links = (f'<a href="conversations/{conversation}.{form}" download>{name}</a>' for form, name in FORMS)
    return f"<p>Export: {' · '.join(links)}</p>"


class Kept:
    """What the page's events do with kept conversations."""

    def __init__(self, conversations: Conversations, roles: bool, collections: Callable[[], list[str]]) -> None:
        self.store, self.roles, self.collections = conversations, roles, collections

    def user(self, request: gr.Request | None) -> str:
        if not self.roles:
            return LOCAL.name
        user = (getattr(request, "headers", None) or {}).get("x-rag-user")
        if not user:  # the Guard always says: a request without it did not pass through it
            raise gr.Error("who is asking is not known")
        return user

    def followups(self, user: str, conversation: str | None) -> list[Exchange]:
        """The kept (question, answer) turns a follow-up is read against; an abstention or an error names
        nothing that a follow-up's "it" could mean, so it is left out."""
        kept = self.store.get(user, conversation) if conversation else None
        if kept is None:
            return []
        shown = [(t.question, t.answer) for t in kept.turns if t.answer is not None and not t.answer.abstained]
        return [(question, plain_answer(answer_markdown(answer, 0))) for question, answer in shown]

    def record(self, user: str, conversation: str | None, turn: Turn) -> tuple[Any, ...]:
        """Keep one turn; what the sidebar then shows (Sidebar.shown) and the conversation's id first."""
        try:
            conversation = self.store.add(user, conversation, turn)
        except (RagError, sqlite3.Error) as failed:  # the answer is shown all the same; the sidebar says why not kept
            return conversation, gr.skip(), gr.skip(), f"<p>⚠️ not kept: {html.escape(str(failed))}</p>"
        return conversation, *self.after(user, conversation)

    def after(self, user: str, conversation: str | None) -> tuple[Any, ...]:
        """The listing with `conversation` picked, its title and its export links."""
        found = self.store.get(user, conversation) if conversation else None
        return self.listing(user, "", conversation), found.title if found else "", export_links(conversation)

    def listing(self, user: str, search: str, conversation: str | None) -> gr.Radio:
        choices = [(s.title, s.id) for s in self.store.summaries(user, search)]
        picked = conversation if any(value == conversation for _, value in choices) else None
        return gr.Radio(choices=choices, value=picked)

    def load(self, width: float | None, request: gr.Request) -> tuple[gr.Sidebar, str, gr.Radio]:
        """On load: the sidebar open on a wide window (narrower, Gradio's covers the whole page, so it starts
        closed), who is logged in, and their conversations."""
        user = self.user(request)
        account = "<p>No accounts here: one local user.</p>"
        if self.roles and user != LOCAL.name:
            role = html.escape((request.headers or {}).get("x-rag-role", ""))
            account = f'<p>Logged in as <b>{html.escape(user)}</b> ({role}) · <a href="logout">Log out</a></p>'
        return gr.Sidebar(open=(width or 0) > WIDE), account, self.listing(user, "", None)

    def search(self, text: str, conversation: str | None, request: gr.Request) -> gr.Radio:
        return self.listing(self.user(request), text, conversation)

    def open(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The picked conversation back in the chat and the sources panel; follow-ups continue it."""
        user = self.user(request)
        found = self.store.get(user, conversation)
        if found is None:
            raise gr.Error("no such conversation (deleted elsewhere?)")
        history, turns = replay(found)
        return history, sources_panel(turns), turns, found.id, found.title, export_links(found.id)

    def collection_of(self, conversation: str | None, current: str, request: gr.Request) -> str:
        """The collection the conversation's last question asked (where it still exists), so follow-ups ask it."""
        found = self.store.get(self.user(request), conversation)
        asked = found.turns[-1].collection if found and found.turns else current
        return asked if asked in self.collections() else current

    def leave(self, search: str, request: gr.Request) -> tuple[Any, ...]:
        """No conversation picked (the chat was emptied): the next question starts one."""
        return None, self.listing(self.user(request), search, None), "", ""

    def new(self, search: str, request: gr.Request) -> tuple[Any, ...]:
        """An empty chat, sources panel and turns, and no conversation picked."""
        return [], "", {}, *self.leave(search, request)

    def rename(self, conversation: str | None, title: str, search: str, request: gr.Request) -> gr.Radio:
        user = self.user(request)
        if not conversation or not self.store.rename(user, conversation, title):
            raise gr.Error("pick a conversation and give it a title")
        return self.listing(user, search, conversation)

    def delete(self, conversation: str | None, search: str, request: gr.Request) -> tuple[Any, ...]:
        if conversation:
            self.store.delete(self.user(request), conversation)
        return self.new(search, request)

    def forget_from(self, request: gr.Request | None, conversation: str | None, turns: int) -> None:
        """A question asked again (retry): its kept answer and all after it go."""
        if conversation:
            self.store.keep_first(self.user(request), conversation, turns)


@dataclass
class Surroundings:
    """What of the page the sidebar fills or follows. `shown`: the chat, the sources panel and the turns state,
    which opening a conversation fills; `emptied`: the triggers that empty the chat (Clear, the chat's own
    clear, another collection), after which no conversation is picked; `view` shows a collection in `viewed`
    (its documents and status), once opening a conversation has put the collection it asked in `picker`."""

    conversation: gr.State
    shown: list[gr.components.Component]
    emptied: list[Any]
    picker: gr.Dropdown
    view: Callable[[str], tuple[Any, ...]]
    viewed: list[gr.components.Component]


def wire(app: gr.Blocks, kept: Kept, bar: Sidebar, page: Surroundings) -> None:
    """The sidebar's events, all private: the page's own, not an API."""
    private: dict[str, Any] = {"api_visibility": "private"}
    conversation = page.conversation
    left = [conversation, *bar.shown()]
    measured = "() => [window.innerWidth]"  # run in the browser first: its result is what load is given
    app.load(kept.load, bar.width, [bar.panel, bar.account, bar.listing], js=measured, **private)
    # change, not input: a value pasted or filled in by the browser searches too
    bar.search.change(kept.search, [bar.search, conversation], bar.listing, trigger_mode="always_last", **private)
    opened = bar.listing.input(kept.open, bar.listing, [*page.shown, conversation, bar.title, bar.export], **private)
    picked = opened.success(kept.collection_of, [conversation, page.picker], page.picker, **private)
    picked.then(page.view, page.picker, page.viewed, **private)
    bar.new.click(kept.new, bar.search, [*page.shown, *left], **private)
    for trigger in page.emptied:
        trigger(kept.leave, bar.search, left, **private)
    for renamed in (bar.rename.click, bar.title.submit):
        renamed(kept.rename, [conversation, bar.title, bar.search], bar.listing, **private)
    bar.delete.click(kept.delete, [conversation, bar.search], [*page.shown, *left], **private)
