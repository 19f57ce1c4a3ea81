"""E-mail (.eml, .mbox, .msg), EPUB, RTF and OpenDocument text, each written by a real library (or, for
.msg, to its specification), loaded through load_file: text, title, the location of each part, the
attachments that could not be read named with why, and broken files refused as corrupt."""

from __future__ import annotations

import datetime
import io
import mailbox
import struct
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from rag.ingest.extracted import ReadOptions
from rag.ingest.formats.mail import read_eml
from rag.ingest.load import LoadError, load_file

# --- fixtures written by real libraries


def _pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def _docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inside.txt", "not read: a zip is not a document")
    return out.getvalue()


def _message(subject: str, body: str, *, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ann Example <ann@example.com>"
    message["To"] = "Bob Example <bob@example.com>"
    message["Cc"] = "Cy Example <cy@example.com>"
    message["Date"] = "Tue, 05 Mar 2024 10:00:00 +0000"
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _message_with_attachments() -> EmailMessage:
    message = _message(
        "Harbour budget",
        "The harbour budget is 4 million.\nSee the attached report.",
        html="<p>The <b>harbour</b> budget, in HTML: htmlonlyword.</p>",
    )
    message.add_attachment(
        _pdf_bytes("The dredging report names pelicanword."), "application", "pdf", filename="report.pdf"
    )
    message.add_attachment(
        _docx_bytes("The memo names cormorantword."),
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="memo.docx",
    )
    message.add_attachment(_zip_bytes(), "application", "zip", filename="bundle.zip")
    message.add_attachment(b"%PDF-1.4 broken", "application", "pdf", filename="broken.pdf")
    forwarded = _message("Lunch plans", "Lunch is at noon, says gannetword.")
    message.add_attachment(forwarded)  # message/rfc822
    return message


def _location_at(doc, word: str) -> str:
    start = doc.text.index(word)
    return doc.location_of(start, start + len(word))


def _assert_corrupt(path: Path) -> None:
    with pytest.raises(LoadError) as caught:
        load_file(path)
    message = str(caught.value)
    assert caught.value.reason == "corrupt", message
    assert message.startswith(str(path)) and "\n" not in message


# --- .eml


def test_eml_headers_body_and_attachments(tmp_path):
    path = tmp_path / "budget.eml"
    path.write_bytes(_message_with_attachments().as_bytes())
    doc = load_file(path)

    assert doc.title == "Harbour budget"
    assert doc.text.startswith(
        "From: Ann Example <ann@example.com>\nTo: Bob Example <bob@example.com>\nCc: Cy Example <cy@example.com>\n"
        "Date: Tue, 05 Mar 2024 10:00:00 +0000\nSubject: Harbour budget\n\n"
        "The harbour budget is 4 million.\nSee the attached report."
    )
    assert "htmlonlyword" not in doc.text  # the plain part is preferred; the HTML form is the same text again
    # each readable attachment is read by its own reader and labelled with its name (and its own parts)
    assert _location_at(doc, "pelicanword") == "attachment report.pdf, page 1"
    assert _location_at(doc, "cormorantword") == "attachment memo.docx"
    assert _location_at(doc, "gannetword") == "attachment Lunch plans"
    assert "Subject: Lunch plans" in doc.text
    # an attachment that cannot be read is named with the reason, in the message's own text
    assert "Attachment not read: bundle.zip (unsupported file type '.zip')" in doc.text
    assert "Attachment not read: broken.pdf (corrupt PDF" in doc.text
    assert _location_at(doc, "Attachment not read: bundle.zip") == ""
    assert "not read: a zip is not a document" not in doc.text


def test_eml_html_only_body_is_text(tmp_path):
    message = EmailMessage()
    message["Subject"] = "Notice"
    message.set_content(
        "<html><body><h1>Closure</h1><p>The pier closes on <b>Friday</b>.</p></body></html>", subtype="html"
    )
    path = tmp_path / "notice.eml"
    path.write_bytes(message.as_bytes())
    doc = load_file(path)
    assert doc.text.split("\n\n")[1] == "Closure\nThe pier closes on Friday."
    assert "<" not in doc.text


def test_eml_wrong_or_unknown_charset_still_reads(tmp_path):
    wrong = (
        b"From: =?x-unknown-charset?q?J=E9r=F4me?= <j@example.com>\r\nSubject: Caf\xc3\xa9 menu\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"The caf\xc3\xa9 opens at nine.\r\n"
        b"--B\r\nContent-Type: text/plain; charset=x-bogus\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Na\xefve footer in Latin-1.\r\n--B--\r\n"
    )
    path = tmp_path / "menu.eml"
    path.write_bytes(wrong)
    doc = load_file(path)
    assert doc.title == "Café menu"  # raw UTF-8 in a header
    assert "The café opens at nine." in doc.text  # declared ASCII, written UTF-8
    assert "Naïve footer in Latin-1." in doc.text  # an unknown charset, read as Windows-1252
    assert "\r" not in doc.text
    doc.text.encode("utf-8")  # no lone surrogates left by undecodable bytes


def test_eml_attachment_over_the_size_limit_is_named():
    message = _message("Scans", "Two reports attached.")
    message.add_attachment(
        _pdf_bytes("The small report names guillemotword."), "application", "pdf", filename="small.pdf"
    )
    message.add_attachment(b"x" * 5000, "text", "plain", filename="big.txt")
    extracted = read_eml(Path("scans.eml"), message.as_bytes(), ReadOptions(max_bytes=4000))
    assert "Attachment not read: big.txt (larger than the " in extracted.text
    assert "guillemotword" in extracted.text


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), b"just a line of text, no headers\n\nmore text"],
    ids=["binary", "plain-text"],
)
def test_eml_that_is_not_a_message_is_corrupt(tmp_path, data):
    path = tmp_path / "not-mail.eml"
    path.write_bytes(data)
    _assert_corrupt(path)


# --- .mbox


def test_mbox_messages_in_order_with_locations(tmp_path):
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(str(path))
    box.add(_message("Tide tables", "From the harbour office: high tide at six, says ternword."))
    box.add(_message_with_attachments())
    box.add(_message("", "A message without a subject mentions puffinword."))
    box.flush()
    box.close()
    assert b"\n>From the harbour office" in path.read_bytes()  # mailbox quotes a body line starting "From "

    doc = load_file(path)
    assert doc.title == "Tide tables"  # the first message's subject
    assert "\nFrom the harbour office: high tide at six" in doc.text  # unquoted
    assert _location_at(doc, "ternword") == "message 1: Tide tables"
    assert _location_at(doc, "The harbour budget is 4 million") == "message 2: Harbour budget"
    assert _location_at(doc, "pelicanword") == "message 2: Harbour budget, attachment report.pdf, page 1"
    assert _location_at(doc, "Attachment not read: bundle.zip") == "message 2: Harbour budget"
    assert _location_at(doc, "puffinword") == "message 3"
    assert doc.text.index("ternword") < doc.text.index("pelicanword") < doc.text.index("puffinword")


def test_mbox_long_subject_is_shortened_in_the_location(tmp_path):
    subject = "Minutes of the harbour board meeting about the dredging of the northern channel in spring"
    path = tmp_path / "long.mbox"
    path.write_bytes(b"From ann@example.com Tue Mar  5 10:00:00 2024\n" + _message(subject, "Minutes.").as_bytes())
    doc = load_file(path)
    label = doc.locations[0][1]
    assert label.startswith("message 1: Minutes of the harbour board") and label.endswith("…") and len(label) < 80
    assert doc.title == subject


def test_mbox_without_from_line_is_corrupt(tmp_path):
    path = tmp_path / "broken.mbox"
    path.write_bytes(_message("Hello", "No mbox separator.").as_bytes())
    _assert_corrupt(path)


# --- .msg
#
# No library this project may ship writes Outlook files, and none ships a sample, so the tests write them
# to the published formats: an OLE compound file ([MS-CFB], by the small writer below, which olefile reads
# at its strictest) holding Outlook's property streams ([MS-OXMSG]). They are not files Outlook saved (no
# named properties, none of Outlook's many variations); extract-msg, a parser written apart from ours,
# reads the same fixture as a cross-check when it is installed.

_END, _FREE, _FAT_SECTOR, _NO_ENTRY = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
_SECTOR, _MINI_SECTOR, _MINI_CUTOFF = 512, 64, 4096
_STORAGE, _STREAM, _ROOT = 1, 2, 5
# [MS-OXRTFCP]'s worked example: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n" compressed
_RTF_EXAMPLE = bytes.fromhex(
    "2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c090020627705b06c647d0a800fa0"
)


@dataclass
class _Entry:
    """A directory entry of the compound file being written."""

    name: str
    kind: int
    data: bytes = b""
    kids: dict[str, _Entry] = field(default_factory=dict)
    start: int = 0
    left: int = _NO_ENTRY
    right: int = _NO_ENTRY
    child: int = _NO_ENTRY
    black: bool = True


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """[MS-CFB] version 3 (512-byte sectors) holding `streams`, each named by its path ("storage/stream");
    streams under 4096 bytes go in the mini stream, as the format requires."""
    root = _Entry("Root Entry", _ROOT)
    for path, data in streams.items():
        *folders, name = path.split("/")
        node = root
        for folder in folders:
            node = node.kids.setdefault(folder, _Entry(folder, _STORAGE))
        node.kids[name] = _Entry(name, _STREAM, data)
    entries = [root]
    _add_kids(root, entries)
    fat: list[int] = []
    sectors = bytearray()

    def allocate(data: bytes) -> int:  # whole sectors, chained in the FAT
        if not data:
            return _END
        start, count = len(fat), -(-len(data) // _SECTOR)
        fat.extend([*range(start + 1, start + count), _END])
        sectors.extend(data.ljust(count * _SECTOR, b"\0"))
        return start

    mini, minifat = bytearray(), []
    for entry in entries:
        if entry.kind == _STREAM and len(entry.data) >= _MINI_CUTOFF:
            entry.start = allocate(entry.data)
        elif entry.kind == _STREAM:
            entry.start, count = (len(minifat) if entry.data else _END), -(-len(entry.data) // _MINI_SECTOR)
            minifat.extend([*range(entry.start + 1, entry.start + count), _END][:count])
            mini.extend(entry.data.ljust(count * _MINI_SECTOR, b"\0"))
    root.data = bytes(mini)
    root.start = allocate(root.data)
    minifat += [_FREE] * (-len(minifat) % (_SECTOR // 4))
    minifat_start = allocate(struct.pack(f"<{len(minifat)}I", *minifat))
    unused = [None] * (-len(entries) % (_SECTOR // 128))
    directory_start = allocate(b"".join(_directory_entry(entry) for entry in [*entries, *unused]))
    fat_count = 1
    while len(fat) + fat_count > fat_count * (_SECTOR // 4):
        fat_count += 1
    fat_sectors = list(range(len(fat), len(fat) + fat_count))
    fat += [_FAT_SECTOR] * fat_count
    fat += [_FREE] * (fat_count * (_SECTOR // 4) - len(fat))
    sectors += struct.pack(f"<{len(fat)}I", *fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"",
        0x3E,
        3,
        0xFFFE,
        9,  # 2**9-byte sectors
        6,  # 2**6-byte mini sectors
        b"",
        0,
        fat_count,
        directory_start,
        0,
        _MINI_CUTOFF,
        minifat_start,
        len(minifat) * 4 // _SECTOR,
        _END,  # no DIFAT sectors: the header's list holds the (up to 109) FAT sectors
        0,
    )
    return header + struct.pack("<109I", *fat_sectors, *[_FREE] * (109 - fat_count)) + bytes(sectors)


def _add_kids(node: _Entry, entries: list[_Entry]) -> None:
    """Numbers a storage's kids and links them as a balanced binary tree ordered as [MS-CFB] orders names
    (shorter first, then by upper case), coloured as a valid red-black tree: all black when full, else its
    deepest row red. Then the same for each storage among them."""
    kids = sorted(node.kids.values(), key=lambda kid: (len(kid.name), kid.name.upper()))
    first = len(entries)
    entries.extend(kids)
    depths: dict[int, int] = {}

    def tree(low: int, high: int, depth: int) -> int:
        if low >= high:
            return _NO_ENTRY
        middle = (low + high) // 2
        depths[middle] = depth
        kids[middle].left = tree(low, middle, depth + 1)
        kids[middle].right = tree(middle + 1, high, depth + 1)
        return first + middle

    node.child = tree(0, len(kids), 0)
    if (len(kids) + 1) & len(kids):  # not 2**k - 1 kids: not a full tree
        deepest = max(depths.values())
        for index, depth in depths.items():
            kids[index].black = depth < deepest
    for kid in kids:
        if kid.kind == _STORAGE:
            _add_kids(kid, entries)


def _directory_entry(entry: _Entry | None) -> bytes:
    if entry is None:  # an unused entry
        return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NO_ENTRY, _NO_ENTRY, _NO_ENTRY, b"", 0, 0, 0, 0, 0)
    name = entry.name.encode("utf-16-le") + b"\0\0"
    start = 0 if entry.kind == _STORAGE else entry.start
    fields = (entry.kind, int(entry.black), entry.left, entry.right, entry.child, b"", 0, 0, 0, start, len(entry.data))
    return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), *fields)


@dataclass
class _Attached:
    name: str
    content: bytes | _Mail  # a file's bytes, or an attached message
    properties: dict[int, str | bytes] = field(default_factory=dict)
    fixed: dict[int, bytes] = field(default_factory=dict)


@dataclass
class _Mail:
    """An Outlook message to write: its subject ("": none), properties by tag (a str is written as UTF-16,
    bytes as they are), fixed-length ones (8 bytes each), recipients (name, address, 1 To or 2 Cc) and
    attachments."""

    subject: str
    properties: dict[int, str | bytes] = field(default_factory=dict)
    fixed: dict[int, bytes] = field(default_factory=dict)
    recipients: list[tuple[str, str, int]] = field(default_factory=list)
    attachments: list[_Attached] = field(default_factory=list)


def _int(value: int) -> bytes:
    return struct.pack("<Q", value)


def _filetime(when: datetime.datetime) -> bytes:
    return _int(int((when - datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)).total_seconds()) * 10**7)


def _property_streams(
    storage: str, values: dict[int, str | bytes], fixed: dict[int, bytes], header: bytes = b"\0" * 8
) -> dict[str, bytes]:
    """[MS-OXMSG] 2.4: a stream per variable-length property; the property stream: the header, then 16
    bytes a property (tag, flags, then its value or, for a stream, its size with a string's terminator)."""
    streams = {}
    entries = bytearray(header)
    for tag, value in values.items():
        data = value.encode("utf-16-le") if isinstance(value, str) else value
        streams[f"{storage}__substg1.0_{tag:08X}"] = data
        terminator = {0x001F: 2, 0x001E: 1}.get(tag & 0xFFFF, 0)
        entries += struct.pack("<IIQ", tag, 6, len(data) + terminator)
    for tag, value in fixed.items():
        entries += struct.pack("<II", tag, 6) + value
    streams[f"{storage}__properties_version1.0"] = bytes(entries)
    return streams


def _msg_streams(mail: _Mail, storage: str = "") -> dict[str, bytes]:
    """The streams of a message: its recipients' and attachments' storages, then its own properties; the
    file's message (storage "") also has the map of named properties, here empty."""
    streams = {}
    for n, (name, address, kind) in enumerate(mail.recipients):
        values = {0x3001001F: name, 0x3003001F: address, 0x39FE001F: address}
        streams |= _property_streams(f"{storage}__recip_version1.0_#{n:08X}/", values, {0x0C150003: _int(kind)})
    for n, attached in enumerate(mail.attachments):
        folder = f"{storage}__attach_version1.0_#{n:08X}/"
        if isinstance(attached.content, _Mail):  # attach method 5, the message in a storage of its own
            values, method = {0x3001001F: attached.name}, 5
            streams |= _msg_streams(attached.content, f"{folder}__substg1.0_3701000D/")
        else:  # attach method 1, by value
            values, method = {0x3707001F: attached.name, 0x37010102: attached.content}, 1
        fixed = {0x37050003: _int(method), **attached.fixed}
        streams |= _property_streams(folder, {**values, **attached.properties}, fixed)
    counts = struct.pack("<IIII", *[len(mail.recipients), len(mail.attachments)] * 2)  # next ids, then counts
    header = b"\0" * 8 + counts + (b"\0" * 8 if not storage else b"")  # 32 bytes, 24 for an attached message
    values = {0x001A001F: "IPM.Note", **({0x0037001F: mail.subject} if mail.subject else {}), **mail.properties}
    streams |= _property_streams(storage, values, mail.fixed, header)
    if not storage:
        for stream in ("00020102", "00030102", "00040102"):
            streams[f"__nameid_version1.0/__substg1.0_{stream}"] = b""
    return streams


def _msg_file(path: Path, mail: _Mail) -> Path:
    path.write_bytes(_compound_file(_msg_streams(mail)))
    return path


def _budget_mail() -> _Mail:
    notes = b"Dredging starts in May, says ospreyword.\n" + b"Tide table follows.\n" * 250  # over 4096 bytes
    reply = _Mail(
        "Re: dredging",
        {0x1000001F: "The dredger is booked, confirms ternword."},
        attachments=[_Attached("tides.txt", b"High water at six, notes skimmerword.")],
    )
    return _Mail(
        "Harbour budget",
        {0x1000001F: "The harbour budget is 4 million.\r\nThanks.", 0x0C1A001F: "Ann Example"},
        {0x00390040: _filetime(datetime.datetime(2024, 3, 5, 10, 0, tzinfo=datetime.UTC))},
        [("Bob Example", "bob@example.com", 1), ("Cy Example", "cy@example.com", 2)],
        [
            _Attached("notes.txt", notes),
            _Attached("bundle.zip", _zip_bytes()),
            _Attached("Re: dredging", reply),
            # a picture the HTML body shows: hidden by Outlook, skipped as an .eml's multipart/related
            _Attached("image001.txt", b"hiddenword", fixed={0x7FFE000B: _int(1)}),
        ],
    )


def test_compound_file_writer_is_valid():
    import olefile

    streams = {"big": b"x" * 5000, "a/b/small": b"tiny", "a/empty": b"", **{f"s{n}": bytes([n]) * n for n in range(40)}}
    ole = olefile.OleFileIO(_compound_file(streams), raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted("/".join(path) for path in ole.listdir()) == sorted(streams)
    assert all(ole.openstream(path).read() == data for path, data in streams.items())


def test_msg_headers_body_and_attachments(tmp_path):
    doc = load_file(_msg_file(tmp_path / "budget.msg", _budget_mail()))
    assert doc.title == "Harbour budget"
    assert doc.text.startswith(
        "From: Ann Example\nTo: Bob Example <bob@example.com>\nCc: Cy Example <cy@example.com>\n"
        "Date: Tue, 05 Mar 2024 10:00:00 +0000\nSubject: Harbour budget\n\nThe harbour budget is 4 million.\nThanks."
    )
    assert _location_at(doc, "ospreyword") == "attachment notes.txt"
    assert "Attachment not read: bundle.zip (unsupported file type '.zip')" in doc.text
    assert _location_at(doc, "ternword") == "attachment Re: dredging"
    assert _location_at(doc, "skimmerword") == "attachment Re: dredging, attachment tides.txt"
    assert "Subject: Re: dredging" in doc.text
    assert "hiddenword" not in doc.text and "image001" not in doc.text


def test_msg_html_body_code_page_and_transport_headers(tmp_path):
    """8-bit strings in the message's code page, the HTML body's text when there is no plain body, the
    sender's SMTP address rather than an Exchange one, and the Date of the headers the mail came with."""
    mail = _Mail(
        "",
        {
            0x0037001E: "Бюджет гавани".encode("cp1251"),
            0x10130102: "<html><body><p>Смета: <b>4 млн</b>, пишет puffinword.</p></body></html>".encode("cp1251"),
            0x0C1A001F: "Ann Example",
            0x0C1F001F: "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ANN",
            0x5D01001F: "ann@example.com",
            0x0E04001F: "Bob Example",
            0x007D001F: "Received: from mx.example.com\r\nDate: Wed, 06 Mar 2024 09:30:00 +0100\r\n\r\n",
        },
        {0x3FFD0003: _int(1251), 0x3FDE0003: _int(1251)},
    )
    doc = load_file(_msg_file(tmp_path / "смета.msg", mail))
    assert doc.title == "Бюджет гавани"
    assert doc.text.startswith(
        "From: Ann Example <ann@example.com>\nTo: Bob Example\nDate: Wed, 06 Mar 2024 09:30:00 +0100\n"
        "Subject: Бюджет гавани\n\nСмета: 4 млн, пишет puffinword."
    )


def test_msg_compressed_rtf_body(tmp_path):
    """A message whose only body is compressed RTF: the example of [MS-OXRTFCP] itself."""
    doc = load_file(_msg_file(tmp_path / "rtf.msg", _Mail("RTF only", {0x10090102: _RTF_EXAMPLE})))
    assert doc.text == "Subject: RTF only\n\nhello world\n\n"


def test_msg_signed_message_is_read_from_its_mime_content(tmp_path):
    """A signed message keeps the mail as sent (multipart/signed) as its one attachment: its body and
    attachments are the message's, its signature is not an attachment."""
    content = EmailMessage()
    content.set_content("Signed note about the pier, from razorbillword.")
    content.add_attachment(b"Minutes name shagword.", "text", "plain", filename="minutes.txt")
    signed = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256")
    signed.attach(content)
    signed.attach(MIMEApplication(b"\x30\x82 not a real signature", "pkcs7-signature", name="smime.p7s"))
    attached = _Attached("smime.p7m", signed.as_bytes(), {0x370E001F: "multipart/signed"})
    mail = _Mail("Pier", {0x001A001F: "IPM.Note.SMIME.MultipartSigned"}, attachments=[attached])
    doc = load_file(_msg_file(tmp_path / "signed.msg", mail))
    assert doc.text.startswith("Subject: Pier\n\nSigned note about the pier, from razorbillword.")
    assert _location_at(doc, "shagword") == "attachment minutes.txt"
    assert "smime" not in doc.text


def test_msg_nested_too_deeply_is_named(tmp_path):
    mail = _Mail("level 6", {0x1000001F: "deepest"})
    for level in range(5, -1, -1):
        mail = _Mail(
            f"level {level}", {0x1000001F: f"body {level}"}, attachments=[_Attached(f"level {level + 1}", mail)]
        )
    doc = load_file(_msg_file(tmp_path / "nested.msg", mail))
    assert "body 4" in doc.text and "body 5" not in doc.text
    assert "Attachment not read: level 5 (messages nested too deeply)" in doc.text


def test_msg_agrees_with_extract_msg(tmp_path):
    """Cross-check against extract-msg, a parser written apart from ours (GPL: a test tool only, never
    a dependency of the product)."""
    extract_msg = pytest.importorskip("extract_msg", reason="extract-msg is not installed: no cross-check")
    mail = _budget_mail()
    mail.attachments.pop()  # extract-msg lists the hidden picture, which we skip
    path = _msg_file(tmp_path / "budget.msg", mail)
    doc = load_file(path)
    theirs = extract_msg.openMsg(str(path))
    try:
        assert doc.title == theirs.subject
        assert f"From: {theirs.sender}\n" in doc.text
        assert f"To: {theirs.to}\nCc: {theirs.cc}\n" in doc.text
        assert theirs.body.replace("\r\n", "\n").strip() in doc.text
        names = [attachment.longFilename or attachment.displayName for attachment in theirs.attachments]
        assert names == ["notes.txt", "bundle.zip", "Re: dredging"]
        labels = {label for _, label in doc.locations}
        assert all(f"attachment {name}" in labels or f"Attachment not read: {name}" in doc.text for name in names)
    finally:
        theirs.close()


@pytest.mark.parametrize(
    "data",
    [
        b"not an outlook file at all",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096,
        _compound_file({"WordDocument": b"\xec\xa5" + b"\0" * 5000}),  # an OLE file, but no message in it
    ],
    ids=["not OLE", "broken OLE header", "OLE without a message"],
)
def test_msg_that_is_not_a_message_is_corrupt(tmp_path, data):
    path = tmp_path / "broken.msg"
    path.write_bytes(data)
    _assert_corrupt(path)
    with pytest.raises(LoadError, match="corrupt MSG"):
        load_file(path)


# --- .epub


def _epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("lighthouse-1")
    book.set_title("The Lighthouse Keepers")
    book.set_language("en")
    one = epub.EpubHtml(title="Arrival at the Rock", file_name="chap_01.xhtml")
    one.content = "<h1>Arrival</h1><p>The keeper rowed out at dawn with kittiwakeword.</p>"
    two = epub.EpubHtml(title="The Long Winter", file_name="text/chap 02.xhtml")
    two.content = "<h1>Winter</h1><p>Ice formed on the lamp glass, noted fulmarword.</p>"
    three = epub.EpubHtml(title="Afterword", file_name="after.xhtml")  # not in the table of contents
    three.content = "<h2>A note on sources</h2><p>Logbooks were kept by skuaword.</p>"
    for chapter in (one, two, three):
        book.add_item(chapter)
    book.toc = (
        epub.Link("chap_01.xhtml", "Arrival at the Rock", "c1"),
        epub.Link("text/chap%2002.xhtml", "The Long Winter", "c2"),
    )
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two, three]
    epub.write_epub(str(path), book)
    return path


def test_epub_chapters_in_spine_order_titled_by_the_toc(tmp_path):
    doc = load_file(_epub(tmp_path / "keepers.epub"))
    assert doc.title == "The Lighthouse Keepers"
    assert _location_at(doc, "kittiwakeword") == "chapter: Arrival at the Rock"
    assert _location_at(doc, "fulmarword") == "chapter: The Long Winter"
    assert _location_at(doc, "skuaword") == "chapter: Afterword"  # its own <title>
    assert doc.text.index("kittiwakeword") < doc.text.index("fulmarword") < doc.text.index("skuaword")
    assert doc.text.startswith("Arrival\nThe keeper rowed out at dawn")  # the navigation document is not text
    assert "<" not in doc.text


def test_epub_reading_prints_nothing(tmp_path, capfd):
    path = _epub(tmp_path / "quiet.epub")
    capfd.readouterr()
    load_file(path)
    assert capfd.readouterr() == ("", "")


def test_epub_with_drm_encrypted_chapters_is_refused(tmp_path):
    path = _epub(tmp_path / "drm.epub")
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="EPUB/chap_01.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("META-INF/encryption.xml", encryption)
    with pytest.raises(LoadError, match="encrypted EPUB") as caught:
        load_file(path)
    assert caught.value.reason == "encrypted"


def test_epub_without_package_document_is_corrupt(tmp_path):
    path = tmp_path / "empty.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("chapter.xhtml", "<p>orphan</p>")
    _assert_corrupt(path)


# --- .odt


def _odt(path: Path, *, title: str | None = "Harbour Survey") -> Path:
    from odf import dc
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P, S

    document = OpenDocumentText()
    if title:
        document.meta.addElement(dc.Title(text=title))
    document.text.addElement(H(outlinelevel=1, text="Findings"))
    paragraph = P(text="The survey counted")
    paragraph.addElement(S(c=2))  # two spaces, kept: white space in the XML itself collapses to one
    paragraph.addText("ships, says shagword.")
    document.text.addElement(paragraph)
    items = List()
    for text in ("First item: breakwater", "Second item: slipway"):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="Ships")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for row in (("Vessel", "Tonnage"), ("Aurora", "1200"), ("Boreas", "900")):
        table_row = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.text.addElement(table)
    document.text.addElement(P(text="After the table comes petrelword."))
    document.save(str(path))
    return path


def test_odt_text_lists_and_table_rows_in_order(tmp_path):
    doc = load_file(_odt(tmp_path / "survey.odt"))
    assert doc.title == "Harbour Survey"
    assert doc.text == (
        "Findings\n\nThe survey counted  ships, says shagword.\n\n"
        "First item: breakwater\nSecond item: slipway\n\n"
        "Vessel: Aurora; Tonnage: 1200\nVessel: Boreas; Tonnage: 900\n\n"
        "After the table comes petrelword.\n\n"
    )
    assert _location_at(doc, "shagword") == "section: Findings"
    assert _location_at(doc, "Vessel: Boreas") == "table 1"
    assert _location_at(doc, "petrelword") == "section: Findings"


def test_odt_title_falls_back_to_first_heading(tmp_path):
    assert load_file(_odt(tmp_path / "untitled.odt", title=None)).title == "Findings"


def test_odt_encrypted_by_openoffice_is_refused(tmp_path):
    source = _odt(tmp_path / "plain.odt")
    path = tmp_path / "locked.odt"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "META-INF/manifest.xml":  # what a password-protected ODT's manifest says
                data = data.replace(
                    b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
                    (
                        b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
                        b'<manifest:encryption-data manifest:checksum-type="SHA1"/></manifest:file-entry>'
                    ),
                )
                assert b"encryption-data" in data
            new.writestr(item, data)
    with pytest.raises(LoadError, match="encrypted ODT") as caught:
        load_file(path)
    assert caught.value.reason == "encrypted"


def test_odt_without_content_is_corrupt(tmp_path):
    path = tmp_path / "hollow.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    _assert_corrupt(path)


# --- zip-based formats: bombs and encrypted archives refused before anything is read


@pytest.mark.parametrize("suffix", [".epub", ".odt"])
def test_zip_bomb_is_refused(tmp_path, suffix):
    path = tmp_path / f"bomb{suffix}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", b"\0" * 2_000_000)  # a few kilobytes that expand to 2 MB
    size = path.stat().st_size
    with pytest.raises(LoadError, match="a zip bomb") as caught:
        load_file(path, ReadOptions(max_bytes=size * 2))
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize("suffix", [".epub", ".odt"])
def test_encrypted_zip_is_refused(tmp_path, suffix):
    path = tmp_path / f"locked{suffix}"
    with zipfile.ZipFile(path, "w") as archive:
        member = zipfile.ZipInfo("content.xml")
        member.flag_bits |= 0x1  # the entry says it is encrypted (as a password-protected zip's do)
        archive.writestr(member, b"<x/>")
    with pytest.raises(LoadError, match="encrypted"):
        load_file(path)


@pytest.mark.parametrize("suffix", [".epub", ".odt"])
def test_zip_format_that_is_not_a_zip_is_corrupt(tmp_path, suffix):
    path = tmp_path / f"fake{suffix}"
    path.write_bytes(b"This was never a zip archive.")
    _assert_corrupt(path)


# --- .rtf


def test_rtf_escapes_decoded(tmp_path):
    path = tmp_path / "menu.rtf"
    path.write_bytes(
        rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Helvetica;}}{\info{\title Caf\'e9 menu}}"
        b"\n"
        rb"\f0\pard Caf\'e9 na\u239?ve \u8364?5 \uc1\u-10179?\u-8704? {\b bold} text.\par"
        b"\n"
        rb"Second paragraph.\par}"
    )
    doc = load_file(path)
    assert doc.text == "Café naïve €5 😀 bold text.\nSecond paragraph."
    assert doc.title == "Café menu"


def test_rtf_without_header_is_corrupt(tmp_path):
    path = tmp_path / "plain.rtf"
    path.write_text("Just text saved with the wrong suffix.")
    _assert_corrupt(path)
