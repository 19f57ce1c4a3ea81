"""EPUB: the chapters in reading order (the package's spine), each labelled "chapter: TITLE" with its
title from the book's table of contents (EPUB 3 navigation document or EPUB 2 NCX), else its own
<title> or first heading. Read with the standard library (container.xml names the package document,
whose manifest and spine list the chapters): an EPUB is a zip of XHTML files, and the archive opened by
checked_zip is the one read, so the zip bomb check covers every read."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.zipped import checked_zip
from rag.ingest.html_text import html_text

NS = {
    "container": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "enc": "http://www.w3.org/2001/04/xmlenc#",
}
TITLE_CHARS = 80
HTML_TYPES = {"application/xhtml+xml", "text/html"}
NCX_TYPE = "application/x-dtbncx+xml"
_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")


class _Broken(Exception):
    """A part of the book that is missing or is not well-formed XML."""


def read_epub(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    archive = checked_zip(path, data, "EPUB", options)
    try:
        opf_path = _package_path(archive)
        package = _xml(archive, opf_path)
        chapters = _spine(package, posixpath.dirname(opf_path))
    except _Broken as error:
        raise LoadError(f"{path}: corrupt EPUB ({error})") from None
    if _encrypted(archive) & set(chapters):
        raise LoadError(f"{path}: encrypted EPUB (DRM protected)", reason="encrypted")
    book_title = " ".join(package.findtext(".//dc:title", "", NS).split())
    titles = _toc_titles(archive, package, posixpath.dirname(opf_path))
    built = TextBuilder()
    for n, (name, text, own_title) in enumerate(_chapter_texts(archive, chapters, book_title), start=1):
        title = titles.get(name) or own_title
        built.add(text, f"chapter: {_short(title)}" if title else f"chapter {n}")
    return built.result(book_title)


def _package_path(archive: zipfile.ZipFile) -> str:
    """The package document (.opf) named by META-INF/container.xml, else the archive's only one."""
    if "META-INF/container.xml" in archive.namelist():
        rootfile = _xml(archive, "META-INF/container.xml").find(".//container:rootfile", NS)
        if rootfile is not None and rootfile.get("full-path"):
            return unquote(rootfile.get("full-path", ""))
    found = [name for name in archive.namelist() if name.lower().endswith(".opf")]
    if len(found) != 1:
        raise _Broken("no package document")
    return found[0]


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    # Expat 2.4 and later (as Python ships) refuses entity expansion bombs; external entities are never read
    try:
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise _Broken(f"{name} is missing") from None
    except (ElementTree.ParseError, zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
        raise _Broken(f"{name}: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from None


def _spine(package: ElementTree.Element, base: str) -> list[str]:
    """The archive names of the spine's (X)HTML documents, in reading order."""
    items = {item.get("id"): item for item in package.iterfind(".//opf:manifest/opf:item", NS)}
    names = []
    for ref in package.iterfind(".//opf:spine/opf:itemref", NS):
        item = items.get(ref.get("idref"))
        # the navigation document (EPUB 3 may list it in the spine) only repeats the chapters' titles
        nav = "nav" in (item.get("properties", "").split() if item is not None else [])
        if item is not None and item.get("href") and item.get("media-type", "") in HTML_TYPES and not nav:
            names.append(_join(base, item.get("href", "")))
    if not names:
        raise _Broken("the spine lists no chapters")
    return names


def _join(base: str, href: str) -> str:
    """An href (relative to the document holding it, %-escaped, maybe with a #fragment) as an archive name."""
    return posixpath.normpath(posixpath.join(base, unquote(href.split("#", 1)[0]))).lstrip("/")


def _toc_titles(archive: zipfile.ZipFile, package: ElementTree.Element, base: str) -> dict[str, str]:
    """Archive name -> the title the table of contents gives it (the first when several point into it);
    empty when the book has no readable table of contents, which only costs the labels their titles."""
    items = list(package.iterfind(".//opf:manifest/opf:item", NS))
    nav = next((i for i in items if "nav" in i.get("properties", "").split()), None)
    spine = package.find(".//opf:spine", NS)
    ncx_id = spine.get("toc") if spine is not None else None
    ncx = next((i for i in items if i.get("id") == ncx_id or i.get("media-type") == NCX_TYPE), None)
    for item, entries in ((nav, _nav_entries), (ncx, _ncx_entries)):
        if item is None or not item.get("href"):
            continue
        name = _join(base, item.get("href", ""))
        try:
            found = list(entries(_xml(archive, name)))
        except _Broken:
            continue
        titles: dict[str, str] = {}
        for href, title in found:
            title = " ".join(title.split())
            if href and title:
                titles.setdefault(_join(posixpath.dirname(name), href), title)
        if titles:
            return titles
    return {}


def _nav_entries(document: ElementTree.Element) -> Iterator[tuple[str, str]]:
    """(href, title) of each link in the EPUB 3 navigation document's table of contents."""
    navs = list(document.iter(f"{{{NS['xhtml']}}}nav"))
    tocs = [nav for nav in navs if "toc" in nav.get(f"{{{NS['epub']}}}type", "").split()] or navs[:1]
    for nav in tocs:
        for link in nav.iter(f"{{{NS['xhtml']}}}a"):
            yield link.get("href", ""), "".join(link.itertext())


def _ncx_entries(document: ElementTree.Element) -> Iterator[tuple[str, str]]:
    """(href, title) of each navPoint of an EPUB 2 NCX, in document order."""
    for point in document.iter(f"{{{NS['ncx']}}}navPoint"):
        content = point.find("ncx:content", NS)
        yield (content.get("src", "") if content is not None else ""), point.findtext("ncx:navLabel/ncx:text", "", NS)


def _encrypted(archive: zipfile.ZipFile) -> set[str]:
    """The files META-INF/encryption.xml lists: DRM encrypts the chapters (font obfuscation only fonts)."""
    if "META-INF/encryption.xml" not in archive.namelist():
        return set()
    try:
        document = _xml(archive, "META-INF/encryption.xml")
    except _Broken:
        return set()
    return {_join("", ref.get("URI", "")) for ref in document.iter(f"{{{NS['enc']}}}CipherReference")}


def _chapter_texts(archive: zipfile.ZipFile, chapters: list[str], book_title: str) -> Iterator[tuple[str, str, str]]:
    """(archive name, text, own title) of each chapter with text; its own title is its <title> unless
    that only repeats the book's, else its first heading. A chapter file missing from the archive is
    skipped: the rest of the book is still worth reading."""
    for name in chapters:
        try:
            markup = _decode(archive.read(name))
        except (KeyError, zipfile.BadZipFile, ValueError, EOFError, OSError):
            continue
        text, title = html_text(markup)
        if not text.strip():
            continue
        if not title or title == book_title:
            heading = _HEADING.search(markup)
            title = " ".join(html_text(heading.group(1))[0].split()) if heading else ""
        yield name, text, title


def _decode(raw: bytes) -> str:
    """XHTML's bytes as text: UTF-16 by its byte-order mark, else the XML declaration's encoding, else UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    declared = _XML_ENCODING.match(raw.removeprefix(b"\xef\xbb\xbf"))
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return raw.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding, errors="replace")
    except LookupError:
        return raw.decode("utf-8-sig", errors="replace")


def _short(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
