"""The cited place in the original file, for `rag serve` (behind its Guard like every route):

- `cited?collection=C&source=S&start=A&end=B&mark=A1-B1&mark=…[&page=N]`: the page showing it (viewer_page);
- `cited/page?collection=C&source=S&page=N`: a PDF page rendered as PNG;
- `cited/original?collection=C&source=S`: the file itself, as a download.

A chat citation links here with its passage's character offsets in the document's text and its marked
sentences' (cited_url). Only documents the collection's index lists are served (rag.web.original).
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from rag.collections import Collections, UnknownCollectionError
from rag.errors import RagError
from rag.pipeline import RAG
from rag.types import Document, location_of
from rag.web.original import IndexedTexts, NotServed, Original, original, read_original
from rag.web.pdf_page import page_png, page_view
from rag.web.viewer_page import Cited, page_html, pdf_html, text_html

VIEW, PAGE, DOWNLOAD = "cited", "cited/page", "cited/original"  # relative: the page may sit under a prefix
_SPAN = re.compile(r"^(\d{1,12})-(\d{1,12})$")
MAX_MARKS = 32
# The viewer's pages load nothing but their own images; a downloaded file is never run as a page of ours
VIEW_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Cache-Control": "no-store"}


def cited_url(collection: str, source: str, start: int, end: int, marks: list[tuple[int, int]] = ()) -> str:
    """The viewer's link to a passage (document offsets start-end) and its marked sentences, scrolled to the
    first sentence (or the passage)."""
    query = [("collection", collection), ("source", source), ("start", start), ("end", end)]
    query += [("mark", f"{a}-{b}") for a, b in marks[:MAX_MARKS]]
    return f"{VIEW}?{urlencode(query)}#{'mark-1' if marks else 'passage'}"


class BadRequest(RagError):
    pass


def _int(request: Request, name: str, default: int | None = None) -> int:
    value = request.query_params.get(name)
    if value is None and default is not None:
        return default
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 12:  # "²" is a digit to isdigit
        raise BadRequest(f"'{name}' must be a whole number")
    return int(value)


def _cited(request: Request) -> Cited:
    start, end = _int(request, "start", 0), _int(request, "end", 0)
    marks = []
    for value in request.query_params.getlist("mark")[:MAX_MARKS]:
        found = _SPAN.match(value)
        if not found:
            raise BadRequest("'mark' must be START-END")
        marks.append((int(found[1]), int(found[2])))
    return Cited(start, max(start, end), tuple(sorted(m for m in marks if m[0] < m[1])))


def _query(request: Request, **changed: str | int) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in changed]
    return urlencode(pairs + list(changed.items()))


def _file_query(request: Request, doc: Original, **more: int) -> str:
    return urlencode({"collection": request.query_params.get("collection", ""), "source": doc.source, **more})


class Viewer:
    """What the three routes answer, over these collections' indexes."""

    def __init__(self, collections: Collections) -> None:
        self.collections = collections
        self.texts = IndexedTexts()

    def found(self, request: Request) -> tuple[Original, RAG]:
        """The document a request names, if it is one of its collection's; else NotServed."""
        name = request.query_params.get("collection") or self.collections.default
        rag = self.collections.get(name)
        return original(rag, request.query_params.get("source") or ""), rag

    def view(self, request: Request) -> Response:
        doc, rag = self.found(request)
        cited = _cited(request)
        document, as_read = self.texts.text(rag, doc)
        first = cited.marks[0] if cited.marks else (cited.start, max(cited.start + 1, cited.end))
        where = location_of(document.locations, *first)  # where the sentence is (else the passage)
        header = [html.escape(doc.source) + (f" · {html.escape(where)}" if where else "")]
        if not as_read:
            header.append(
                '<span class="notice">The file has changed or is gone since it was indexed: shown is its text '
                "as indexed. Index it again to cite the file as it is now.</span>"
            )
        if document.page_starts and doc.path is not None and as_read:
            body = self._pdf(request, doc, document, cited)
        else:
            body = text_html(document, cited)
        shown = page_html(doc.title or Path(doc.source).name, header, f"{DOWNLOAD}?{_file_query(request, doc)}", body)
        return HTMLResponse(shown, headers={"Content-Security-Policy": VIEW_POLICY})

    @staticmethod
    def _pdf(request: Request, doc: Original, document: Document, cited: Cited) -> str:
        """The cited page (or the one asked for), the passage and its sentences boxed where found on it."""
        assert doc.path is not None
        starts, text = document.page_starts, document.text
        first = cited.marks[0][0] if cited.marks else cited.start
        number = _int(request, "page", max(1, sum(1 for s in starts if s <= first)))
        lo = starts[number - 1] if number <= len(starts) else len(text)
        hi = starts[number] if number < len(starts) else len(text)

        def on_page(a: int, b: int) -> str:  # the part of a span on this page ("" if none)
            return text[max(a, lo) : min(b, hi)] if a < hi and b > lo else ""

        spans = [(cited.start, cited.end), *cited.marks]
        view = page_view(read_original(doc.path), number, [on_page(a, b) for a, b in spans])
        passage, view.marks = view.marks[0], view.marks[1:]
        links = (
            f"{VIEW}?{_query(request, page=number - 1)}" if number > 1 else "",
            f"{VIEW}?{_query(request, page=number + 1)}" if number < view.pages else "",
        )
        body = pdf_html(view, f"{PAGE}?{_file_query(request, doc, page=number)}", passage, links)
        if not (any(view.marks) if cited.marks else passage):
            # the sentences not found on the page (OCR read them otherwise, say): the passage as indexed, too
            body += "<h2>The passage as indexed</h2>" + text_html(document, cited)
        return body

    def page(self, request: Request) -> Response:
        doc, _ = self.found(request)
        if doc.path is None:
            raise NotServed("the file has changed or is gone since it was indexed")
        image = page_png(read_original(doc.path), _int(request, "page"))
        return Response(image, media_type="image/png", headers=FILE_HEADERS)

    def download(self, request: Request) -> Response:
        doc, _ = self.found(request)
        if doc.path is None:
            raise NotServed("the file is gone since it was indexed")
        name = Path(doc.source).name
        headers = {**FILE_HEADERS, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(read_original(doc.path), media_type=kind, headers=headers)


def viewer_router(collections: Collections) -> APIRouter:
    """The viewer's three routes over these collections."""
    viewer = Viewer(collections)
    router = APIRouter()
    for path, answer in ((VIEW, viewer.view), (PAGE, viewer.page), (DOWNLOAD, viewer.download)):
        router.add_api_route("/" + path, _answering(answer), methods=["GET"], include_in_schema=False)
    return router


def _answering(answer: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """The route: its response, or a one-line refusal: 404 for anything not served (the same for what does
    not exist and what may not be read), 400 for a malformed link."""

    def route(request: Request) -> Response:
        try:
            return answer(request)
        except BadRequest as error:
            return PlainTextResponse(f"Bad link: {error}", status_code=400)
        except (NotServed, UnknownCollectionError):
            return PlainTextResponse("Not found: not a document of this collection", status_code=404)
        except RagError as error:
            return PlainTextResponse(f"Not found: {error}", status_code=404)

    return route
