"""Sample files of every kind the product reads, all holding the same text: bench fixtures for
`python bench/ingestion.py --formats`, not product code.

    write_samples(paragraphs, folder, per_file) -> {".txt": [paths], ".pdf": [paths], …}

The paragraphs are grouped `per_file` to a file, and every format gets the same groups, so reading
speeds compare like with like. Where a format has its own structure, the text is put in it as a real
file would be: HTML and Word end with a table (the group's last paragraph, one row per sentence),
spreadsheets and CSV are one row per sentence, PowerPoint is a slide per paragraph with its last
sentence in the speaker notes, EPUB a chapter per paragraph, an mbox a message per paragraph.

Scans (".png (scan)", ".pdf (scan)") are the text PDFs' first `scan_pages` pages rendered at 200 dpi:
one PNG per page, and one image-only PDF of those pages (no text layer, so the reader has to OCR it);
beside each PNG, page-NNN.txt holds that page's text layer, what the OCR should find.
"""

from __future__ import annotations

import csv
import email.utils
import html
import json
import mailbox
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

SCAN_DPI = 200
# A fixed date, so that the same paragraphs always give the same files
DATE = email.utils.formatdate(1_700_000_000, usegmt=True)
COLUMNS = ["Paragraph", "Sentence", "Text"]
# A Unicode font for the PDF's text (SQuAD has Polish, Cyrillic and IPA letters); the first found is used
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")

# One group of paragraphs: (file number, first paragraph's number from 1, its paragraphs)
Group = tuple[int, int, list[str]]


def sentences(paragraph: str) -> list[str]:
    """A plain split at ". X": good enough for a fixture (the product's own splitter is not under test here)."""
    return [s for s in _SENTENCE_END.split(paragraph.strip()) if s]


def sentence_rows(first: int, paragraphs: list[str]) -> list[list[object]]:
    """[paragraph number, sentence number, sentence] for each sentence: a table's or a sheet's rows."""
    return [
        [first + p, s + 1, sentence]
        for p, paragraph in enumerate(paragraphs)
        for s, sentence in enumerate(sentences(paragraph))
    ]


def title_of(number: int) -> str:
    return f"SQuAD sample {number}"


def write_samples(paragraphs: list[str], folder: Path, per_file: int, scan_pages: int = 4) -> dict[str, list[Path]]:
    """Write the paragraphs, `per_file` to a file, in every format under `folder/<format>/`; return each
    format's files (keyed by suffix; the scans by ".png (scan)" and ".pdf (scan)")."""
    groups = [
        (n, start + 1, paragraphs[start : start + per_file])
        for n, start in enumerate(range(0, len(paragraphs), per_file), start=1)
    ]
    written: dict[str, list[Path]] = {}
    for suffix, writer in WRITERS.items():
        where = folder / suffix.lstrip(".")
        where.mkdir(parents=True, exist_ok=True)
        written[suffix] = []
        for group in groups:
            path = where / f"sample-{group[0]:04d}{suffix}"
            writer(path, group)
            written[suffix].append(path)
    written.update(write_scans(written[".pdf"], folder / "scans", scan_pages))
    return written


def write_txt(path: Path, group: Group) -> None:
    path.write_text("\n\n".join(group[2]) + "\n", encoding="utf-8")


def write_md(path: Path, group: Group) -> None:
    path.write_text(f"# {title_of(group[0])}\n\n" + "\n\n".join(group[2]) + "\n", encoding="utf-8")


def write_html(path: Path, group: Group) -> None:
    n, first, paragraphs = group
    *body, last = paragraphs
    head = "".join(f"<th>{name}</th>" for name in COLUMNS)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in sentence_rows(first + len(body), [last])
    )
    text = "\n".join(f"<p>{html.escape(p)}</p>" for p in body)
    path.write_text(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title_of(n)}</title></head>\n'
        f"<body>\n<h1>{title_of(n)}</h1>\n{text}\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</body></html>\n",
        encoding="utf-8",
    )


def _font() -> str | None:
    found = next((font for font in FONTS if Path(font).is_file()), None)
    if found is None:
        try:
            import matplotlib  # ships DejaVu Sans

            bundled = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
            found = str(bundled) if bundled.is_file() else None
        except ImportError:
            pass
    return found


def write_pdf(path: Path, group: Group) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title_of(group[0]))
    font = _font()
    if font:
        pdf.add_font("DejaVu", fname=font)
        pdf.set_font("DejaVu", size=11)
        paragraphs = group[2]
    else:  # a core font only has Latin-1: other letters become "?"
        pdf.set_font("helvetica", size=11)
        paragraphs = [p.encode("latin-1", "replace").decode("latin-1") for p in group[2]]
    pdf.add_page()
    for paragraph in paragraphs:
        pdf.multi_cell(0, 5.5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(path))


def write_docx(path: Path, group: Group) -> None:
    import docx

    n, first, paragraphs = group
    *body, last = paragraphs
    document = docx.Document()
    document.core_properties.title = title_of(n)
    document.add_heading(title_of(n), level=1)
    for paragraph in body:
        document.add_paragraph(paragraph)
    rows = sentence_rows(first + len(body), [last])
    table = document.add_table(rows=1 + len(rows), cols=len(COLUMNS))
    for r, row in enumerate([COLUMNS, *rows]):
        for c, cell in enumerate(row):
            table.cell(r, c).text = str(cell)
    document.save(str(path))


def write_pptx(path: Path, group: Group) -> None:
    from pptx import Presentation

    n, first, paragraphs = group
    presentation = Presentation()
    presentation.core_properties.title = title_of(n)
    layout = presentation.slide_layouts[1]  # "Title and Content"
    for p, paragraph in enumerate(paragraphs):
        *shown, spoken = sentences(paragraph) or [paragraph]
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = f"Paragraph {first + p}"
        slide.placeholders[1].text_frame.text = " ".join(shown)
        slide.notes_slide.notes_text_frame.text = spoken
    presentation.save(str(path))


def write_xlsx(path: Path, group: Group) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.properties.title = title_of(group[0])
    sheet = book.active
    sheet.title = "Sentences"
    sheet.append(COLUMNS)
    for row in sentence_rows(group[1], group[2]):
        sheet.append(row)
    book.save(str(path))


def write_xls(path: Path, group: Group) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sentences")
    for r, row in enumerate([COLUMNS, *sentence_rows(group[1], group[2])]):
        for c, cell in enumerate(row):
            sheet.write(r, c, cell)
    book.save(str(path))


def write_ods(path: Path, group: Group) -> None:
    import pandas as pd

    frame = pd.DataFrame(sentence_rows(group[1], group[2]), columns=COLUMNS)
    frame.to_excel(path, engine="odf", sheet_name="Sentences", index=False)


def write_csv(path: Path, group: Group) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(sentence_rows(group[1], group[2]))


def _records(group: Group) -> list[dict[str, object]]:
    return [{"paragraph": group[1] + p, "text": text} for p, text in enumerate(group[2])]


def write_json(path: Path, group: Group) -> None:
    path.write_text(json.dumps(_records(group), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_jsonl(path: Path, group: Group) -> None:
    lines = (json.dumps(record, ensure_ascii=False) for record in _records(group))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _message(subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Sample Writer <writer@example.org>"
    message["To"] = "Reader <reader@example.org>"
    message["Date"] = DATE
    message["Subject"] = subject
    message.set_content(body)  # non-ASCII text: UTF-8, quoted-printable or base64 as the policy picks
    return message


def write_eml(path: Path, group: Group) -> None:
    path.write_bytes(bytes(_message(title_of(group[0]), "\n\n".join(group[2]) + "\n")))


def write_mbox(path: Path, group: Group) -> None:
    path.unlink(missing_ok=True)  # mailbox.mbox appends to a file that exists
    box = mailbox.mbox(str(path), create=True)
    try:
        for p, paragraph in enumerate(group[2]):
            box.add(_message(f"Paragraph {group[1] + p}", paragraph + "\n"))
        box.flush()
    finally:
        box.close()


def write_epub(path: Path, group: Group) -> None:
    from ebooklib import epub

    n, first, paragraphs = group
    book = epub.EpubBook()
    book.set_identifier(f"squad-sample-{n}")
    book.set_title(title_of(n))
    book.set_language("en")
    chapters = []
    for p, paragraph in enumerate(paragraphs):
        name = f"Paragraph {first + p}"
        chapter = epub.EpubHtml(title=name, file_name=f"chapter-{p + 1:03d}.xhtml", lang="en")
        chapter.content = f"<h1>{name}</h1><p>{html.escape(paragraph)}</p>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    epub.write_epub(str(path), book)


def write_odt(path: Path, group: Group) -> None:
    from odf.dc import Title
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.meta.addElement(Title(text=title_of(group[0])))
    document.text.addElement(H(outlinelevel=1, text=title_of(group[0])))
    for paragraph in group[2]:
        document.text.addElement(P(text=paragraph))
    document.save(str(path))


def rtf_escape(text: str) -> str:
    """RTF is 7-bit: backslash and braces escaped, other characters as \\uN? (N a signed 16-bit UTF-16
    unit, so a character past U+FFFF is two of them; "?" is what a reader without Unicode shows)."""
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\line ")
        elif ord(char) < 128:
            out.append(char)
        else:
            units = char.encode("utf-16-le")
            for i in range(0, len(units), 2):
                unit = int.from_bytes(units[i : i + 2], "little", signed=True)
                out.append(f"\\u{unit}?")
    return "".join(out)


def write_rtf(path: Path, group: Group) -> None:
    title = rtf_escape(title_of(group[0]))
    body = "\n".join(f"{{\\pard\\sa200 {rtf_escape(p)}\\par}}" for p in group[2])
    path.write_text(
        "{\\rtf1\\ansi\\ansicpg1252\\deff0\n{\\fonttbl{\\f0\\froman Times New Roman;}}\n"
        f"{{\\info{{\\title {title}}}}}\n\\f0\\fs24\n{{\\pard\\b {title}\\par}}\n{body}\n}}\n",
        encoding="ascii",
    )


WRITERS: dict[str, Callable[[Path, Group], None]] = {
    ".txt": write_txt,
    ".md": write_md,
    ".html": write_html,
    ".pdf": write_pdf,
    ".docx": write_docx,
    ".pptx": write_pptx,
    ".xlsx": write_xlsx,
    ".xls": write_xls,
    ".ods": write_ods,
    ".csv": write_csv,
    ".json": write_json,
    ".jsonl": write_jsonl,
    ".eml": write_eml,
    ".mbox": write_mbox,
    ".epub": write_epub,
    ".odt": write_odt,
    ".rtf": write_rtf,
}


def write_scans(pdfs: list[Path], folder: Path, pages: int) -> dict[str, list[Path]]:
    """The PDFs' first `pages` pages rendered at SCAN_DPI, in grey as a scanner would: a PNG per page
    and one image-only PDF of them all. Each page's text layer is saved as page-NNN.txt beside its PNG,
    the answer key for the OCR."""
    import pypdfium2 as pdfium

    folder.mkdir(parents=True, exist_ok=True)
    images, texts = [], []
    for pdf in pdfs:
        document = pdfium.PdfDocument(str(pdf))
        try:
            for n in range(min(len(document), pages - len(images))):
                page = document[n]
                try:
                    images.append(page.render(scale=SCAN_DPI / 72, grayscale=True).to_pil())
                    textpage = page.get_textpage()
                    texts.append(textpage.get_text_range())
                    textpage.close()
                finally:
                    page.close()
        finally:
            document.close()
        if len(images) >= pages:
            break
    pngs = []
    for n, (image, text) in enumerate(zip(images, texts, strict=True), start=1):
        pngs.append(folder / f"page-{n:03d}.png")
        image.save(pngs[-1], dpi=(SCAN_DPI, SCAN_DPI))
        # the page's text layer: what OCR should find on it (a .txt beside the image, not in the lists)
        pngs[-1].with_suffix(".txt").write_text(text, encoding="utf-8")
    scanned = folder / "scanned.pdf"
    if images:
        images[0].save(scanned, "PDF", save_all=True, append_images=images[1:], resolution=SCAN_DPI)
    return {".png (scan)": pngs, ".pdf (scan)": [scanned] if images else []}
