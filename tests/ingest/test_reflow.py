"""A PDF's printed lines joined back into paragraphs, so a sentence is one sentence, not a line's worth of it."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from rag.ingest.load import load_file
from rag.ingest.reflow import reflow
from rag.text import sentences

PROSE = (
    "The harbour authority published its annual report in March, describing how the number of ships calling "
    "at the port rose by a tenth over the year. Most of the growth came from container traffic, which the new "
    "cranes on the eastern quay were built to handle. The authority expects the trend to continue next year."
)


def test_lines_of_a_paragraph_run_on_and_its_end_stays():
    page = (
        "Annual report\n"
        "The harbour authority published its annual report in March, describing how\n"
        "the number of ships calling at the port rose by a tenth over the year. Most of\n"
        "the growth came from container traffic, which the new cranes were built for.\n"
        "\n"
        "The authority expects the trend to continue, for the following reasons:\n"
        "• the new quay opens in the spring and will take the largest vessels in\n"
        "service today;\n"
        "1. tariffs fall\n"
        "Signed, the board\n"
    )
    out = reflow(page)
    assert out.startswith("Annual report\nThe harbour authority")  # a heading is a short line: kept apart
    assert "describing how the number of ships" in out and "Most of the growth" in out
    assert "built for.\n\nThe authority" in out  # a blank line still ends a paragraph
    assert "reasons:\n• the new quay" in out  # a list's items start lines
    assert "vessels in service today;\n1. tariffs fall" in out


def test_a_word_hyphenated_across_lines_is_joined_again():
    page = (
        "Distinguished Encoding Rules (DER) encoding and decoding and man-\n"
        "agement of structures that it\nneeds, with well-\nKnown names and more lines to read here.\n"
    )
    out = reflow(page)
    assert "management of structures" in out
    assert "well-\nKnown" in out or "well- Known" in out  # a capital after the hyphen: a real hyphen, kept


def test_a_sentence_printed_over_three_lines_of_a_pdf_is_one_sentence(tmp_path: Path):
    pdf = FPDF(format=(120, 200))  # a narrow page: every sentence breaks across lines
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, PROSE)
    pdf.output(str(tmp_path / "narrow.pdf"))
    text = load_file(tmp_path / "narrow.pdf").text
    found = [" ".join(text[s.start : s.end].split()) for s in sentences(text)]
    wanted = [" ".join(PROSE[s.start : s.end].split()) for s in sentences(PROSE)]
    assert found == wanted


def test_few_lines_are_left_as_they_are():
    assert reflow("Total\n42") == "Total\n42"


def test_table_rows_and_code_keep_their_lines():
    table = "Region 2022 2023 2024\nNorth 1,204 1,310 1,400\nSouth 980 1,020 1,100\nEast 700 720 760\n"  # rows alike
    assert reflow(table) == table
    code = (
        "Call the function as shown, and check what it returns before you go on to the next step:\n"
        "    result = asn1_create_element(definitions, name, &element);\n"
        "    if (result != ASN1_SUCCESS) { return result; }\n"
        "The element is then ready for the values you write into it one by one.\n"
    )
    assert reflow(code).split("\n")[1:3] == code.split("\n")[1:3]
