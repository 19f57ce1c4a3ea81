"""The HTML of the cited place: a PDF page with the cited sentences' boxes on it, or the document's text with
the passage shaded and its sentences marked, each part labelled where it is (page, slide, sheet cells).

No script: the link's #mark-1 (or #passage) scrolls the browser to the first marked sentence. Every piece of
document text is escaped; the response's Content-Security-Policy lets the page load only its own images.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from rag.types import Document, location_of
from rag.web.pdf_page import Box, PageView

# A long document is shown this many characters either side of the passage (the whole file is a download)
WINDOW = 40_000

STYLE = """
body {font: 15px/1.55 system-ui, sans-serif; margin: 0; color: #111827; background: #f3f4f6;}
header {background: #fff; border-bottom: 1px solid #e5e7eb; padding: .8em 1.2em; position: sticky; top: 0; z-index: 2;}
header h1 {font-size: 1.1em; margin: 0 0 .2em;}
header p {margin: .1em 0; font-size: .9em; color: #4b5563;}
header a {color: #1d4ed8;}
.notice {color: #92400e; background: #fef3c7; padding: .2em .5em; border-radius: 4px; display: inline-block;}
main {max-width: 62em; margin: 1em auto; padding: 0 1em;}
nav {margin: .4em 0; font-size: .9em;}
nav a, nav span {margin-right: 1em;}
.page {position: relative; width: 100%; background: #fff; box-shadow: 0 1px 4px #0003;}
.page img {position: absolute; inset: 0; width: 100%; height: 100%;}
.box {position: absolute; background: #facc1566; outline: 2px solid #d97706; border-radius: 2px;
  scroll-margin-top: 40vh;}
.box.passage {background: #3b82f61a; outline: none;}
.text {background: #fff; box-shadow: 0 1px 4px #0003; padding: 1em 1.4em;}
section {border-top: 1px solid #f3f4f6;}
.located section {display: grid; grid-template-columns: 9em 1fr; gap: 1em;}
section .where {font-size: .8em; color: #6b7280; padding-top: .25em; overflow-wrap: anywhere;}
section .body {white-space: pre-wrap; overflow-wrap: anywhere;}
span.passage {background: #dbeafe;}
mark {background: #fde68a; outline: 1px solid #d97706; scroll-margin-top: 40vh;}
.gap {color: #6b7280; font-style: italic;}
h2 {font-size: 1em; margin: 1.2em 0 .4em;}
"""


@dataclass(frozen=True)
class Cited:
    """What a citation points at: the passage's offsets in its document's text and its sentences' offsets."""

    start: int
    end: int
    marks: tuple[tuple[int, int], ...]


def _pieces(text: str, lo: int, hi: int, cited: Cited, named: set[str]) -> str:
    """text[lo:hi], escaped, with the passage shaded and its sentences marked; the first piece of the
    passage and of each sentence gets its id (for the link's #fragment), once (`named`)."""
    cuts = {lo, hi, *(x for x in (cited.start, cited.end) if lo < x < hi)}
    cuts |= {x for a, b in cited.marks for x in (a, b) if lo < x < hi}
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges, edges[1:], strict=False):
        piece = html.escape(text[a:b])
        for n, (m0, m1) in enumerate(cited.marks, start=1):
            if m0 <= a and b <= m1:
                name = f"mark-{n}"
                piece = f'<mark id="{name}">{piece}</mark>' if name not in named else f"<mark>{piece}</mark>"
                named.add(name)
                break
        if cited.start <= a and b <= cited.end:
            name = "passage"
            attribute = ' id="passage"' if name not in named else ""
            named.add(name)
            piece = f'<span class="passage"{attribute}>{piece}</span>'
        out.append(piece)
    return "".join(out)


def text_html(document: Document, cited: Cited) -> str:
    """The document's text around the passage, in sections headed by where each part is."""
    text = document.text
    lo, hi = max(0, cited.start - WINDOW), min(len(text), cited.end + WINDOW)
    starts = [lo, *(offset for offset, _ in document.locations if lo < offset < hi), hi]
    named: set[str] = set()
    out = []
    if lo > 0:
        out.append(f'<p class="gap">… {lo:,} characters before (in the original)</p>')
    for a, b in zip(starts, starts[1:], strict=False):
        if a == b:
            continue
        where = f'<div class="where">{html.escape(location_of(document.locations, a, a + 1))}</div>'
        body = _pieces(text, a, b, cited, named)
        out.append(f'<section>{where if document.locations else ""}<div class="body">{body}</div></section>')
    if hi < len(text):
        out.append(f'<p class="gap">… {len(text) - hi:,} characters after (in the original)</p>')
    located = " located" if document.locations else ""  # a margin naming each part's place
    return f'<div class="text{located}">{"".join(out)}</div>'


def _box(box: Box, kind: str, name: str = "") -> str:
    attribute = f' id="{name}"' if name else ""
    return (
        f'<a class="box {kind}"{attribute} style="left:{box.left:.3%};top:{box.top:.3%};'
        f'width:{box.width:.3%};height:{box.height:.3%}"></a>'
    )


def pdf_html(view: PageView, image_url: str, passage_boxes: list[Box], page_links: tuple[str, str]) -> str:
    """The rendered page, the passage's boxes shaded and each sentence's boxes marked, with page links."""
    boxes = [_box(b, "passage", "passage" if i == 0 else "") for i, b in enumerate(passage_boxes)]
    for n, sentence in enumerate(view.marks, start=1):
        boxes += [_box(b, "mark", f"mark-{n}" if i == 0 else "") for i, b in enumerate(sentence)]
    previous, following = page_links
    nav = [
        f'<a href="{html.escape(previous)}">← page {view.number - 1}</a>' if previous else "",
        f"<span>page {view.number} of {view.pages}</span>",
        f'<a href="{html.escape(following)}">page {view.number + 1} →</a>' if following else "",
    ]
    return (
        f"<nav>{''.join(nav)}</nav>"
        f'<div class="page" style="aspect-ratio: {view.width:.2f} / {view.height:.2f}">'
        f'<img src="{html.escape(image_url)}" alt="page {view.number}">{"".join(boxes)}</div>'
    )


def page_html(title: str, header: list[str], download_url: str, body: str) -> str:
    """The whole page: the file's name, where the passage is, the download link, notices, then `body`.
    `header` lines are HTML already escaped by the caller."""
    lines = "".join(f"<p>{line}</p>" for line in header)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>{lines}"
        f'<p><a href="{html.escape(download_url)}" download>Download the original</a></p></header>'
        f"<main>{body}</main></body></html>"
    )
