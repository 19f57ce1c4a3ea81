"""Outlook .msg files, read with olefile (BSD; extract-msg, which reads them too, is GPL): the message
written as an .eml's is (mail.py), its attachments read by the readers of their kinds."""

from __future__ import annotations

import codecs
import datetime
import email
import email.policy
import io
import struct
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.mail import (
    HEADERS,
    MAX_NESTING,
    add_attachments,
    decode_part,
    header_text,
    not_read_line,
    read_attachment,
    read_parts,
    text_lines,
)
from rag.ingest.html_text import html_text

if TYPE_CHECKING:
    import olefile


def read_msg(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    ole = _open_ole(path, data)
    try:
        message = _MsgStorage.open(_OleReader(ole, len(data)), [], ole.root, _TOP_HEADER, "cp1252")
        if message is None:
            raise LoadError(f"{path}: corrupt MSG (no message properties: not an Outlook message)")
        return _read_outlook(message, options, depth=0)
    finally:
        ole.close()


# Outlook .msg files ([MS-OXMSG]), read with olefile: an OLE compound file in which the message, each
# recipient and each attachment is a storage. A property of variable length (a string, binary data) is
# the stream "__substg1.0_" + its tag (its id and type, in hex); one of fixed length (a number, a time)
# is 8 bytes of an entry in the storage's "__properties_version1.0" stream.

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PROPERTIES = "__properties_version1.0"
_RECIPIENTS = "__recip_version1.0_#"
_ATTACHMENTS = "__attach_version1.0_#"
_STORAGE, _STREAM = 1, 2  # [MS-CFB] directory entries' object types
_ATTACHED_MESSAGE = "__substg1.0_3701000D"  # an attached message's own storage
# Bytes before the 16-byte entries of a property stream: the file's message, an attached one, the rest
_TOP_HEADER, _EMBEDDED_HEADER, _PART_HEADER = 32, 24, 8
# Property types: UTF-16LE string, 8-bit string in the message's code page, binary, 32-bit, boolean, time
_UNICODE, _STRING8, _BINARY, _INT32, _BOOLEAN, _TIME = 0x001F, 0x001E, 0x0102, 0x0003, 0x000B, 0x0040
# Property ids
_SUBJECT, _CLIENT_SUBMIT_TIME, _TRANSPORT_HEADERS = 0x0037, 0x0039, 0x007D
_SENDER = (0x0C1A, 0x5D01, 0x0C1F)  # name, SMTP address, address (which may be an Exchange one)
_SENT_REPRESENTING = (0x0042, 0x5D02, 0x0065)  # whom it was sent for: the From of the mail sent
_DISPLAY_CC, _DISPLAY_TO, _DELIVERY_TIME = 0x0E03, 0x0E04, 0x0E06
_BODY, _RTF_COMPRESSED, _HTML = 0x1000, 0x1009, 0x1013
_INTERNET_CODEPAGE, _MESSAGE_CODEPAGE = 0x3FDE, 0x3FFD
_RECIPIENT_TYPE, _DISPLAY_NAME, _EMAIL_ADDRESS, _SMTP_ADDRESS = 0x0C15, 0x3001, 0x3003, 0x39FE
_ATTACH_DATA, _ATTACH_FILENAME, _ATTACH_METHOD, _ATTACH_LONG_FILENAME = 0x3701, 0x3704, 0x3705, 0x3707
_ATTACH_MIME_TAG, _ATTACHMENT_HIDDEN = 0x370E, 0x7FFE
_TO, _CC = 1, 2  # recipient types (Bcc, 3, is not shown, as in an .eml)
_EMBEDDED_MESSAGE, _OLE_OBJECT, _WEB_REFERENCE = 5, 6, 7  # attach methods; 2-4 are links to files
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)  # a time is 100 ns ticks since then
# Windows code pages whose Python codec is not named "cp" + the number
_CODECS = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    10000: "mac_roman",
    20127: "ascii",
    20866: "koi8_r",
    21866: "koi8_u",
    50220: "iso2022_jp",
    50221: "iso2022_jp",
    50222: "iso2022_jp",
    51932: "euc_jp",
    51949: "euc_kr",
    52936: "hz",
    54936: "gb18030",
    65001: "utf-8",
}
# A signed message keeps what was sent as one MIME attachment; these hide it (encrypted or opaque-signed)
_SIGNED_MIME = "multipart/signed"
_OPAQUE_MIME = {"application/pkcs7-mime", "application/x-pkcs7-mime"}
# [MS-OXRTFCP]: compressed RTF starts from a dictionary holding this text
_RTF_DICTIONARY = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)


def _open_ole(path: Path, data: bytes) -> olefile.OleFileIO:
    import olefile  # only .msg files need it

    if not data.startswith(_OLE_MAGIC):
        raise LoadError(f"{path}: corrupt MSG (not an OLE compound file)")
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - olefile raises many kinds on broken files; all mean "corrupt"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LoadError(f"{path}: corrupt MSG ({reason})") from None
    # olefile reads the mini stream and its map in one go, as long as their sizes say, however their sector
    # chains loop: sizes larger than the file are refused before anything is read
    if ole.root.size > len(data) or (ole.num_mini_fat_sectors or 0) * ole.sector_size > len(data):
        ole.close()
        raise LoadError(f"{path}: corrupt MSG (its mini stream is larger than the file)")
    return ole


class _OleReader:
    """The open file's streams, read so that their sizes together stay within the file's: an honest file's
    streams each have their own sectors, so more means sectors shared by many streams (a file built to
    make a small one read as gigabytes)."""

    def __init__(self, ole: olefile.OleFileIO, size: int) -> None:
        self.ole = ole
        self.left = size

    def read(self, path: list[str], entry: Any) -> bytes | None:
        """The stream's bytes, None when it is not a stream or cannot be read (a damaged one)."""
        if entry.entry_type != _STREAM or entry.size > self.left:
            return None
        self.left -= entry.size
        try:
            return self.ole.openstream(path).read()
        except Exception:  # noqa: BLE001 - one damaged stream must not lose the rest of the message
            return None


class _MsgStorage:
    """One storage (a message, a recipient, an attachment) and its fixed-length properties."""

    def __init__(self, reader: _OleReader, path: list[str], entry: Any, fixed: dict[int, bytes], codec: str) -> None:
        self.reader = reader
        self.path = path
        self.kids: dict[str, Any] = {kid.name.lower(): kid for kid in entry.kids}
        self.fixed = fixed
        self.codec = codec  # of its 8-bit strings

    @classmethod
    def open(cls, reader: _OleReader, path: list[str], entry: Any, header: int, codec: str) -> _MsgStorage | None:
        """The storage; for a message, None when its property stream is missing or damaged (a recipient or
        attachment is still read without: its variable-length properties are what matter). A message's
        own code page, when it names one, replaces the `codec` of the message holding it."""
        stream = next((kid for kid in entry.kids if kid.name.lower() == _PROPERTIES), None)
        raw = reader.read([*path, stream.name], stream) if stream is not None else None
        if raw is None and header != _PART_HEADER:
            return None
        raw = raw or b""
        fixed = {
            int.from_bytes(raw[at : at + 4], "little"): raw[at + 8 : at + 16] for at in range(header, len(raw) - 15, 16)
        }
        storage = cls(reader, path, entry, fixed, codec)
        if header != _PART_HEADER:
            storage.codec = _codec(storage.integer(_MESSAGE_CODEPAGE)) or codec
        return storage

    def substorage(self, name: str, header: int) -> _MsgStorage | None:
        entry = self.kids.get(name.lower())
        if entry is None or entry.entry_type != _STORAGE:
            return None
        return _MsgStorage.open(self.reader, [*self.path, entry.name], entry, header, self.codec)

    def substorages(self, prefix: str) -> Iterator[_MsgStorage]:
        """The recipients' or attachments' storages, in their numbered order (hex digits, all of a width)."""
        for name in sorted(name for name in self.kids if name.startswith(prefix)):
            storage = self.substorage(name, _PART_HEADER)
            if storage is not None:
                yield storage

    def stream(self, prop: int, kind: int) -> bytes | None:
        name = f"__substg1.0_{prop:04X}{kind:04X}"
        entry = self.kids.get(name.lower())
        return None if entry is None else self.reader.read([*self.path, entry.name], entry)

    def string(self, prop: int) -> str:
        """A string property (either kind), "" when missing; a terminating NUL is dropped."""
        raw = self.stream(prop, _UNICODE)
        if raw is not None:
            return raw.decode("utf-16-le", errors="replace").rstrip("\0")
        raw = self.stream(prop, _STRING8)
        return decode_part(raw.rstrip(b"\0"), self.codec) if raw is not None else ""

    def integer(self, prop: int) -> int | None:
        value = self.fixed.get(prop << 16 | _INT32)
        return int.from_bytes(value[:4], "little") if value is not None and len(value) == 8 else None

    def flag(self, prop: int) -> bool:
        value = self.fixed.get(prop << 16 | _BOOLEAN)
        return bool(value and value[0])

    def time(self, prop: int) -> datetime.datetime | None:
        value = self.fixed.get(prop << 16 | _TIME)
        ticks = int.from_bytes(value, "little") if value is not None and len(value) == 8 else 0
        if not ticks:
            return None
        try:
            return _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)
        except OverflowError:  # past the year 9999: a damaged value
            return None


def _codec(codepage: int | None) -> str | None:
    """Python's codec for a Windows code page number, None for one it has none for."""
    if not codepage:
        return None
    name = _CODECS.get(codepage, f"cp{codepage}")
    if 28591 <= codepage <= 28606:  # the ISO 8859 parts
        name = f"iso8859_{codepage - 28590}"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _read_outlook(msg: _MsgStorage, options: ReadOptions, depth: int) -> Extracted:
    """One message, written as an .eml one is: its headers, body, the attachments not read, then those read."""
    headers = _transport_headers(msg)
    subject = " ".join(msg.string(_SUBJECT).split())
    recipients = _outlook_recipients(msg)
    values = {
        "From": _outlook_sender(msg),
        "To": ", ".join(recipients[_TO]) or " ".join(msg.string(_DISPLAY_TO).split()),
        "Cc": ", ".join(recipients[_CC]) or " ".join(msg.string(_DISPLAY_CC).split()),
        "Date": _outlook_date(msg),
        "Subject": subject,
    }
    if headers is not None:  # the mail as it was sent says what the properties do not
        values = {name: value or header_text(headers, name) for name, value in values.items()}
        values["Date"] = header_text(headers, "Date") or values["Date"]
    built = TextBuilder()
    built.add("\n".join(f"{name}: {value}" for name in HEADERS if (value := values[name])))
    body, attachments, not_read = _outlook_content(msg, options, depth)
    built.add(body)
    add_attachments(built, attachments, not_read)
    return built.result(subject or values["Subject"])


def _transport_headers(msg: _MsgStorage) -> EmailMessage | None:
    text = msg.string(_TRANSPORT_HEADERS)
    if not text.strip():
        return None
    try:
        return email.message_from_string(text, policy=email.policy.default)
    except (RecursionError, ValueError, LookupError):
        return None


def _outlook_sender(msg: _MsgStorage) -> str:
    """Whom it was sent for (the From of the mail sent), else who sent it: "Name <address>"."""
    for name_prop, smtp_prop, address_prop in (_SENT_REPRESENTING, _SENDER):
        sender = _mailbox(msg, name_prop, smtp_prop, address_prop)
        if sender:
            return sender
    return ""


def _mailbox(storage: _MsgStorage, name_prop: int, smtp_prop: int, address_prop: int) -> str:
    name = " ".join(storage.string(name_prop).split())
    address = storage.string(smtp_prop).strip()
    if not address:
        address = storage.string(address_prop).strip()
        address = address if "@" in address else ""  # not an Exchange one ("/O=ORG/OU=…")
    if name and address and name != address:
        return f"{name} <{address}>"
    return name or address


def _outlook_recipients(msg: _MsgStorage) -> dict[int, list[str]]:
    """The recipients ("Name <address>") by kind: To, Cc, Bcc."""
    found: dict[int, list[str]] = {_TO: [], _CC: [], 3: []}
    for recipient in msg.substorages(_RECIPIENTS):
        kind = (recipient.integer(_RECIPIENT_TYPE) or 0) & 0x0F  # the high bits are flags
        mailbox = _mailbox(recipient, _DISPLAY_NAME, _SMTP_ADDRESS, _EMAIL_ADDRESS) if kind in found else ""
        if mailbox:
            found[kind].append(mailbox)
    return found


def _outlook_date(msg: _MsgStorage) -> str:
    """When it was sent, else when it arrived; "" for a draft."""
    when = msg.time(_CLIENT_SUBMIT_TIME) or msg.time(_DELIVERY_TIME)
    return format_datetime(when) if when is not None else ""


def _outlook_content(
    msg: _MsgStorage, options: ReadOptions, depth: int
) -> tuple[str, list[tuple[str, Extracted]], list[str]]:
    """The body, the attachments read and the notes on those not read. Hidden attachments are skipped:
    Outlook hides the pictures an HTML body shows, as an .eml keeps them in its multipart/related."""
    body = _outlook_body(msg, options)
    attachments: list[tuple[str, Extracted]] = []
    not_read: list[str] = []
    for attachment in msg.substorages(_ATTACHMENTS):
        if attachment.flag(_ATTACHMENT_HIDDEN):
            continue
        signed = _signed_mime(attachment)
        if signed is not None:
            text = _read_mime_parts(signed, options, depth, attachments, not_read)
            body = body or text  # the message's own body, when it has one, is the same text
            continue
        name = _outlook_name(attachment)
        try:
            attachments.append((name, _read_outlook_attachment(attachment, name, options, depth)))
        except LoadError as error:
            not_read.append(not_read_line(name, error))
    return body, attachments, not_read


def _outlook_body(msg: _MsgStorage, options: ReadOptions) -> str:
    """The plain body, else the HTML body's text, else the compressed RTF body's."""
    body = msg.string(_BODY)
    if body.strip():
        return text_lines(body)
    raw = msg.stream(_HTML, _BINARY)  # in the code page of the mail sent, else the message's
    html = (
        decode_part(raw, _codec(msg.integer(_INTERNET_CODEPAGE)) or msg.codec) if raw is not None else msg.string(_HTML)
    )
    if html.strip():
        return html_text(text_lines(html))[0]
    rtf = msg.stream(_RTF_COMPRESSED, _BINARY)
    return _rtf_text(rtf, options) if rtf else ""


def _rtf_text(compressed: bytes, options: ReadOptions) -> str:
    """The text of a compressed RTF body, "" when it cannot be read. An RTF body that holds HTML ("\\fromhtml")
    is read as the RTF it also is: its text, without the HTML's tables."""
    from rag.ingest.formats.rtf import read_rtf

    rtf = _decompress_rtf(compressed, options.max_bytes)
    if not rtf:
        return ""
    try:
        return text_lines(read_rtf(Path("body.rtf"), rtf, options).text)
    except LoadError:
        return ""


def _decompress_rtf(data: bytes, limit: int) -> bytes:
    """[MS-OXRTFCP]: after a 16-byte header (sizes, "LZFu", or "MELA" when not compressed, and a checksum
    not checked here) each control byte says of the 8 tokens after it, lowest bit first, whether each is
    a byte (0) or a 2-byte reference (1) to a run of 2 to 17 bytes in a 4096-byte window of what was
    written. At most `limit` bytes; b"" for a damaged header, what came before the damage for a damaged
    body."""
    if len(data) < 16:
        return b""
    size, raw_size, kind = struct.unpack_from("<II4s", data)
    limit = min(limit, raw_size)
    if kind == b"MELA":
        return data[16 : 16 + limit]
    if kind != b"LZFu":
        return b""
    window = bytearray(_RTF_DICTIONARY.ljust(4096, b" "))
    out = bytearray()
    at, end, write = 16, min(len(data), size + 4), len(_RTF_DICTIONARY)
    while at < end and len(out) < limit:
        control, at = data[at], at + 1
        for bit in range(8):
            if not control >> bit & 1 and at < end:
                start, length, window[write] = write, 1, data[at]  # a byte: written, then copied out
                at += 1
            elif at + 2 <= end:
                reference = int.from_bytes(data[at : at + 2], "big")
                start, length, at = reference >> 4, (reference & 0x0F) + 2, at + 2
                if start == write:  # a reference to where writing is: the end
                    return bytes(out[:limit])
            else:
                break
            for i in range(length):  # one byte at a time: a run may repeat bytes it writes itself
                byte = window[(start + i) % 4096]
                out.append(byte)
                window[write] = byte
                write = (write + 1) % 4096
    return bytes(out[:limit])


def _signed_mime(attachment: _MsgStorage) -> EmailMessage | None:
    """A signed message's content: the attachment holding the mail as sent (multipart/signed), parsed."""
    if attachment.string(_ATTACH_MIME_TAG).strip().lower() != _SIGNED_MIME:
        return None
    data = attachment.stream(_ATTACH_DATA, _BINARY)
    if not data:
        return None
    try:
        return email.message_from_bytes(data, policy=email.policy.default)
    except (RecursionError, ValueError, LookupError):
        return None


def _read_mime_parts(
    mime: EmailMessage, options: ReadOptions, depth: int, attachments: list[tuple[str, Extracted]], not_read: list[str]
) -> str:
    """A signed message's MIME content, read as an .eml's is: its attachments are added to the lists, its
    body (and any further inline text) returned."""
    texts = read_parts(mime, options, depth, attachments, not_read)
    return "\n\n".join(text.strip() for text in texts if text.strip())


def _outlook_name(attachment: _MsgStorage) -> str:
    """The attachment's file name without any folder, else its display name, else what it is."""
    for prop in (_ATTACH_LONG_FILENAME, _ATTACH_FILENAME, _DISPLAY_NAME):
        name = " ".join(attachment.string(prop).replace("\\", "/").rsplit("/", 1)[-1].split())
        if name:
            return name
    return "attached message" if attachment.integer(_ATTACH_METHOD) == _EMBEDDED_MESSAGE else "attachment"


def _read_outlook_attachment(attachment: _MsgStorage, name: str, options: ReadOptions, depth: int) -> Extracted:
    """An attachment's text; LoadError (its message starting with `name`) when it cannot be read."""
    method = attachment.integer(_ATTACH_METHOD)
    if method == _EMBEDDED_MESSAGE:
        if depth >= MAX_NESTING:
            raise LoadError(f"{name}: messages nested too deeply")
        nested = attachment.substorage(_ATTACHED_MESSAGE, _EMBEDDED_HEADER)
        if nested is None:
            raise LoadError(f"{name}: corrupt attached message")
        return _read_outlook(nested, options, depth + 1)
    if method == _OLE_OBJECT:
        raise LoadError(f"{name}: an embedded OLE object", reason="unsupported")
    if method == _WEB_REFERENCE:
        raise LoadError(f"{name}: a link to a file stored online", reason="unsupported")
    if method in (2, 3, 4):
        raise LoadError(f"{name}: a link to a file, not the file", reason="unsupported")
    if attachment.string(_ATTACH_MIME_TAG).strip().lower() in _OPAQUE_MIME:
        raise LoadError(f"{name}: encrypted or signed S/MIME content", reason="encrypted")
    data = attachment.stream(_ATTACH_DATA, _BINARY)
    if data is None:
        raise LoadError(f"{name}: damaged attachment (no data)")
    return read_attachment(name, data, options)
