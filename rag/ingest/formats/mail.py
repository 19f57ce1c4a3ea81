"""E-mail: .eml (one message) and .mbox (many); Outlook's .msg in outlook.py. Each message is its headers
(From, To, Cc, Date, Subject) as lines, its body (plain text preferred, else the HTML part's text), then
each attachment read by the reader of its kind; an attachment that cannot be read is named with the
reason in the message's text, so a search for it finds why it is missing."""

from __future__ import annotations

import email
import email.policy
import mimetypes
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.html_text import html_text

if TYPE_CHECKING:
    pass

HEADERS = ("From", "To", "Cc", "Date", "Subject")
# A file is taken for a message when it has at least one of these headers
MAIL_HEADERS = {*(name.lower() for name in HEADERS), "message-id", "received", "mime-version", "content-type", "sender"}
# Messages attached to messages attached to …: deeper ones are named, not read
MAX_NESTING = 4
SUBJECT_CHARS = 60
# A signed message's signature is a part of the mail's machinery, not an attachment its reader sees
SIGNATURES = {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
# An mbox separates messages with lines starting "From "; a body line starting so is written ">From "
_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def read_eml(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    message = _parse(path, data)
    if not MAIL_HEADERS & {name.lower() for name in message.keys()}:
        raise LoadError(f"{path}: not an e-mail message (no mail headers)")
    return _read_message(message, options, depth=0)


def read_mbox(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    """The messages one after another, each labelled "message N: SUBJECT". Parsed from the bytes as the
    standard library's mailbox.mbox splits a file (at each line starting "From "), with no copy on disk."""
    if not data.lstrip().startswith(b"From "):
        raise LoadError(f"{path}: not an mbox file (it does not start with a 'From ' line)")
    built = TextBuilder()
    title = ""
    for n, raw in enumerate(_mbox_messages(data), start=1):
        message = _parse(path, raw)
        subject = header_text(message, "Subject")
        title = title or subject
        label = f"message {n}: {_short(subject)}" if subject else f"message {n}"
        built.include(_read_message(message, options, depth=0), label)
    return built.result(title)


def _parse(path: Path, data: bytes) -> EmailMessage:
    try:
        return email.message_from_bytes(data, policy=email.policy.default)
    except (RecursionError, ValueError, LookupError) as error:
        raise LoadError(f"{path}: corrupt e-mail message ({type(error).__name__})") from None


def _mbox_messages(data: bytes) -> Iterator[bytes]:
    starts = list(_SEPARATOR.finditer(data))
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        raw = data[here.end() : after.start() if after else len(data)]
        yield _QUOTED_FROM.sub(rb"\1", raw)


def _read_message(message: EmailMessage, options: ReadOptions, depth: int) -> Extracted:
    """One message: its headers, body, further inline text, the attachments not read, then those read."""
    built = TextBuilder()
    built.add("\n".join(f"{name}: {value}" for name in HEADERS if (value := header_text(message, name))))
    attachments: list[tuple[str, Extracted]] = []
    not_read: list[str] = []
    for text in read_parts(message, options, depth, attachments, not_read):
        built.add(text)
    add_attachments(built, attachments, not_read)
    return built.result(header_text(message, "Subject"))


def read_parts(
    message: EmailMessage,
    options: ReadOptions,
    depth: int,
    attachments: list[tuple[str, Extracted]],
    not_read: list[str],
) -> list[str]:
    """A MIME message's body and further inline text, in order (returned); each attachment read is added to
    `attachments`, each that could not be to `not_read` (its line). Shared by .eml, .mbox and a .msg's
    signed content."""
    body = message.get_body(preferencelist=("plain", "html"))
    texts = [part_text(body)] if body is not None else []
    for part in after_body(message, body):  # a signature is skipped there
        if is_inline_text(part):
            texts.append(part_text(part))
            continue
        name = part_name(part)
        try:
            attachments.append((name, read_part(part, name, options, depth)))
        except LoadError as error:
            not_read.append(not_read_line(name, error))
    return texts


def add_attachments(built: TextBuilder, attachments: list[tuple[str, Extracted]], not_read: list[str]) -> None:
    # the notes come first, under the message's own label, before the attachments' labels begin
    built.add("\n".join(not_read))
    for name, extracted in attachments:
        built.include(extracted, f"attachment {name}")


def after_body(part: EmailMessage, body: EmailMessage | None) -> Iterator[EmailMessage]:
    """The leaf parts other than the body, in order: attachments and further inline text. Of alternative
    forms only the one holding the body is walked (the others are the same text again), and of a
    multipart/related only the body: its other parts are the pictures the HTML shows."""
    if part is body:
        return
    if part.get_content_maintype() != "multipart":
        if part.get_content_type() not in SIGNATURES:
            yield part
        return
    parts = list(part.iter_parts())
    subtype = part.get_content_subtype()
    if subtype == "alternative" and parts:
        holding = [sub for sub in parts if body is not None and any(p is body for p in sub.walk())]
        parts = holding or parts[-1:]  # the last is the richest form
    elif subtype == "related" and any(p is body for p in part.walk()):
        return
    for sub in parts:
        yield from after_body(sub, body)


def is_inline_text(part: EmailMessage) -> bool:
    return part.get_content_maintype() == "text" and not part.is_attachment() and not _filename(part)


def _filename(part: EmailMessage) -> str:
    try:
        return _clean(part.get_filename() or "")
    except Exception:  # noqa: BLE001 - a malformed Content-Disposition: the part is taken as unnamed
        return ""


def read_part(part: EmailMessage, name: str, options: ReadOptions, depth: int) -> Extracted:
    """An attachment's text; LoadError (its message starting with `name`) when it cannot be read."""
    if part.get_content_type() == "message/rfc822":
        if depth >= MAX_NESTING:
            raise LoadError(f"{name}: messages nested too deeply")
        payload = part.get_payload()
        nested = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(nested, EmailMessage):
            raise LoadError(f"{name}: corrupt attached message")
        return _read_message(nested, options, depth + 1)
    return read_attachment(name, part.get_payload(decode=True) or b"", options)


def read_attachment(name: str, data: bytes, options: ReadOptions) -> Extracted:
    """An attached file read by the reader of its kind; LoadError when there is none, when it is too large
    or empty, or when the reader refuses it."""
    from rag.ingest.formats import reader_for  # the registry imports this module's readers lazily

    path = Path(name)
    reader = reader_for(path)
    if reader is None:
        kind = f"'{path.suffix.lower()}'" if path.suffix else "without a suffix"
        raise LoadError(f"{name}: unsupported file type {kind}", reason="unsupported")
    if len(data) > options.max_bytes:
        raise LoadError(f"{name}: larger than the {options.max_bytes / (1024 * 1024):g} MB limit", reason="too large")
    try:
        extracted = reader(path, data, options)
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - one attachment a library chokes on must not lose the whole mailbox
        raise LoadError(f"{name}: unreadable ({type(error).__name__}: {error})", reason="corrupt") from None
    if not extracted.text.strip():
        raise LoadError(f"{name}: no text", reason="no text")
    return extracted


def not_read_line(name: str, error: LoadError) -> str:
    why = str(error).removeprefix(f"{name}: ").splitlines()[0] if str(error) else error.reason
    return f"Attachment not read: {name} ({why})"


def part_name(part: EmailMessage) -> str:
    """The attachment's file name without any folder, else one made from its type ("part.pdf")."""
    name = " ".join(_filename(part).replace("\\", "/").rsplit("/", 1)[-1].split())
    if name:
        return name
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        subject = header_text(payload[0], "Subject") if isinstance(payload, list) and payload else ""
        return _short(subject) or "attached message"
    return "part" + (mimetypes.guess_extension(part.get_content_type()) or "")


def part_text(part: EmailMessage) -> str:
    text = text_lines(decode_part(part.get_payload(decode=True) or b"", part.get_content_charset()))
    if part.get_content_subtype() == "html":
        return html_text(text)[0]
    return text


def decode_part(data: bytes, charset: str | None) -> str:
    """The declared charset when it decodes cleanly, else UTF-8, else Windows-1252: a wrong or unknown
    declared charset is common in mail and must not lose the message."""
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                pass
    return data.decode("cp1252", errors="replace")


def text_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def header_text(message: EmailMessage, name: str) -> str:
    """A header decoded to one line; its raw value when the parser chokes on a malformed one."""
    try:
        value = str(message.get(name) or "")
    except Exception:  # noqa: BLE001 - the header parser has raised on malformed addresses in several Pythons
        value = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), "")
    return " ".join(_clean(value).split())


def _clean(text: str) -> str:
    """Undecodable bytes are kept by the parser as lone surrogates, which cannot be written out as UTF-8:
    read them as UTF-8 (raw 8-bit headers usually are), else Windows-1252."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = text.encode("utf-8", "replace")
    return decode_part(raw, None)


def _short(text: str) -> str:
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1].rstrip() + "…"
