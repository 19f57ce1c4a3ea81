"""Office files, spreadsheets, delimited text, JSON and code, read from real files the libraries write: text in
reading order, tables as rows that name their columns, and each part's place in the file for citations."""

from __future__ import annotations

import json
import zipfile

import docx
import openpyxl
import pandas as pd
import pptx
import pytest
import xlwt
from pptx.util import Inches

from rag.ingest.html_text import html_text
from rag.ingest.load import LoadError, ReadOptions, load_file
from rag.ingest.tables import records
from rag.types import location_of


def _place(document, phrase: str) -> str:
    """The location a chunk starting at `phrase` and running to its line's end would cite."""
    start = document.text.index(phrase)
    end = document.text.index("\n", start)
    return document.location_of(start, end)


def test_rows_name_their_columns_under_a_title_and_without_a_header():
    rows = [
        ["Budget 2026", "", ""],
        ["", "", ""],
        ["Item", "Cost", "Owner"],
        ["Paint", "40", "Ann"],
        ["Nails", "", "Bob"],
    ]
    assert list(records(rows)) == [
        (0, "Budget 2026"),
        (3, "Item: Paint; Cost: 40; Owner: Ann"),
        (4, "Item: Nails; Owner: Bob"),
    ]
    # numbers in the first row: no header, the columns are named by their letters
    assert list(records([["1", "2"], ["3", "4"]])) == [(0, "A: 1; B: 2"), (1, "A: 3; B: 4")]


def test_locations_merge_cell_ranges_and_numbered_parts():
    locations = [(0, "Sheet1!A2:C2"), (10, "Sheet1!A3:C3"), (20, "Sheet1!A4:C4"), (30, "slide 2"), (40, "slide 3")]
    assert location_of(locations, 0, 25) == "Sheet1!A2:C4"
    assert location_of(locations, 12, 18) == "Sheet1!A3:C3"
    assert location_of(locations, 32, 45) == "slide 2–3"
    assert location_of(locations, 25, 35) == "Sheet1!A4:C4 – slide 2"
    assert location_of([(0, "slide 1"), (9, "slide 1, notes")], 0, 20) == "slide 1"
    assert location_of([], 0, 10) == ""


def test_docx_keeps_paragraphs_and_tables_in_order_with_sections(tmp_path):
    document = docx.Document()
    document.add_heading("Harbour plan", 0)
    document.add_paragraph("The plan covers three piers.")
    document.add_heading("Costs", 1)
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([["Pier", "Cost"], ["North", "1.2 million"], ["South", "0.8 million"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Work starts in May.")
    document.save(tmp_path / "plan.docx")
    loaded = load_file(tmp_path / "plan.docx")
    assert loaded.title == "Harbour plan"
    text = loaded.text
    assert text.index("three piers") < text.index("Pier: North; Cost: 1.2 million") < text.index("Work starts")
    assert _place(loaded, "Pier: South") == "table 1"
    assert _place(loaded, "The plan covers") == "section: Harbour plan"
    assert _place(loaded, "Work starts") == "section: Costs"


def test_pptx_slides_in_order_with_tables_and_speaker_notes(tmp_path):
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Ferry timetable"
    first.placeholders[1].text = "Boats leave every hour."
    first.notes_slide.notes_text_frame.text = "Mention the winter schedule."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Fares"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for r, row in enumerate([["Ticket", "Price"], ["Adult", "4 EUR"], ["Child", "2 EUR"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(tmp_path / "ferry.pptx")
    loaded = load_file(tmp_path / "ferry.pptx")
    assert loaded.title == "Ferry timetable"
    assert loaded.text.index("Boats leave") < loaded.text.index("winter schedule") < loaded.text.index("Fares")
    assert _place(loaded, "Boats leave") == "slide 1"
    assert _place(loaded, "Mention the winter") == "slide 1, notes"
    assert "Ticket: Child; Price: 2 EUR" in loaded.text and _place(loaded, "Ticket: Child") == "slide 2"


def test_xlsx_sheets_as_rows_with_cell_ranges(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Budget 2026"])
    sheet.append([])
    sheet.append(["Item", "Cost", "Owner"])
    for n in range(1, 13):
        sheet.append([f"Item {n}", n * 10.5, "Ann" if n % 2 else "Bob"])
    staff = book.create_sheet("Staff")
    staff.append(["Name", "Role"])
    staff.append(["Ann", "Lead"])
    hidden = book.create_sheet("Scratch")
    hidden.append(["secret", "draft"])
    hidden.sheet_state = "hidden"
    book.save(tmp_path / "budget.xlsx")
    loaded = load_file(tmp_path / "budget.xlsx")
    assert "Item: Item 3; Cost: 31.5; Owner: Ann" in loaded.text and "Name: Ann; Role: Lead" in loaded.text
    assert _place(loaded, "Item: Item 3") == "Budget!A6:C6"  # row 3 of data is the sheet's row 6
    start, end = loaded.text.index("Item: Item 3"), loaded.text.index("Item: Item 5")
    assert loaded.location_of(start, end) == "Budget!A6:C7"  # a chunk of two rows cites both
    assert _place(loaded, "Name: Ann") == "Staff!A2:B2"
    assert "secret" not in loaded.text  # a hidden sheet is not shown to the reader of the workbook either


def test_xls_and_ods_read_like_xlsx(tmp_path):
    book = xlwt.Workbook()
    sheet = book.add_sheet("Tides")
    for r, row in enumerate([["Port", "High tide"], ["Brest", "06:40"], ["Cork", "07:15"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(tmp_path / "tides.xls"))
    loaded = load_file(tmp_path / "tides.xls")
    assert "Port: Cork; High tide: 07:15" in loaded.text and _place(loaded, "Port: Cork") == "Tides!A3:B3"

    with pd.ExcelWriter(tmp_path / "cities.ods", engine="odf") as writer:
        pd.DataFrame({"City": ["Oslo", "Rome"], "Population": [700000, 2800000]}).to_excel(
            writer, index=False, sheet_name="Cities"
        )
    loaded = load_file(tmp_path / "cities.ods")
    assert "City: Rome; Population: 2800000" in loaded.text and _place(loaded, "City: Rome") == "Cities!A3:B3"


def test_csv_semicolons_and_tsv_by_row(tmp_path):
    (tmp_path / "people.csv").write_text('name;age;city\nAnn;31;"Porto, Portugal"\nBob;40;Lyon\n', encoding="utf-8")
    loaded = load_file(tmp_path / "people.csv")
    assert "name: Ann; age: 31; city: Porto, Portugal" in loaded.text
    assert _place(loaded, "name: Bob") == "row 3"
    (tmp_path / "people.tsv").write_text("name\tage\nAnn\t31\n", encoding="utf-8")
    assert load_file(tmp_path / "people.tsv").text.strip() == "name: Ann; age: 31"


def test_html_table_rows_keep_the_header_and_the_caption():
    text, _ = html_text(
        "<p>Before</p><table><caption>Prices</caption><tr><th>Fruit</th><th>Price</th></tr>"
        "<tr><td>Apple<td>3<tr><td>Pear</td><td><b>4</b> EUR</td></tr></table><p>After</p>"
    )
    assert text.splitlines() == ["Before", "Prices", "Fruit: Apple; Price: 3", "Fruit: Pear; Price: 4 EUR", "After"]


def test_json_jsonl_and_notebooks_give_their_text_fields(tmp_path):
    (tmp_path / "books.json").write_text(
        json.dumps([{"title": "Tide Tables", "author": {"name": "Ann"}}, {"title": "Knots", "pages": 120}])
    )
    loaded = load_file(tmp_path / "books.json")
    assert "title: Tide Tables\nauthor.name: Ann" in loaded.text and "pages: 120" in loaded.text
    assert _place(loaded, "title: Knots") == "item 2"
    (tmp_path / "log.jsonl").write_text('{"event": "launch", "boat": "Swift"}\n\n{"event": "return"}\n')
    assert _place(load_file(tmp_path / "log.jsonl"), "event: return") == "line 3"
    (tmp_path / "broken.jsonl").write_text('{"event": "launch"}\n{"event": \n')
    with pytest.raises(LoadError, match="corrupt JSON on line 2") as caught:
        load_file(tmp_path / "broken.jsonl")
    assert caught.value.reason == "corrupt"
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# Tides\n", "Moon pull."]}, {"source": "x = 1"}]}
    (tmp_path / "tides.ipynb").write_text(json.dumps(notebook))
    loaded = load_file(tmp_path / "tides.ipynb")
    assert "Moon pull." in loaded.text and _place(loaded, "x = 1") == "cell 2"


def test_source_code_is_read_as_text(tmp_path):
    (tmp_path / "tides.py").write_text('def high_tide(port):\n    """Hours of the next high tide."""\n')
    assert "Hours of the next high tide" in load_file(tmp_path / "tides.py").text


@pytest.mark.parametrize("name", ["sheet.xlsx", "deck.pptx", "memo.docx", "cities.ods"])
def test_office_bombs_and_password_protected_files_are_refused(tmp_path, name):
    with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", b"\0" * (5 * 1024 * 1024))
    with pytest.raises(LoadError, match="zip bomb"):
        load_file(tmp_path / name, ReadOptions(max_bytes=1024 * 1024))
    # a password-protected Office file is an OLE container, not a zip
    (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000)
    with pytest.raises(LoadError, match="encrypted") as caught:
        load_file(tmp_path / name)
    assert caught.value.reason == "encrypted"


@pytest.mark.parametrize("name", ["sheet.xlsx", "deck.pptx", "old.xls", "cities.ods", "people.csv"])
def test_corrupt_files_give_one_line_with_the_path(tmp_path, name):
    (tmp_path / name).write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4 if name != "people.csv" else b"\x00\x01" * 50)
    with pytest.raises(LoadError) as caught:
        load_file(tmp_path / name)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / name)) and "\n" not in message and caught.value.reason == "corrupt"


def test_a_wide_row_is_cut_into_lines_each_naming_the_row_by_its_key():
    header = ["Id", "Name", *(f"Measure {n}" for n in range(1, 13))]
    rows = [header, ["1", "Ada Lovelace", *(f"{n}.5" for n in range(12))], ["2", "Alan Turing", *("7" * 12)]]
    lines = [text for n, text in records(rows) if n == 1]
    assert len(lines) >= 2 and all(line.startswith("Name: Ada Lovelace; ") for line in lines)
    assert all(len(line) <= 140 for line in lines)
    # every cell is said once, each next to its column's name
    assert sum(line.count("Measure") for line in lines) == 12 and "; Id: 1;" in lines[0]


def test_a_column_of_sentences_is_never_repeated_as_a_key():
    sentence = "Super Bowl 50 was an American football game to determine the champion of the National Football League."
    rows = [["Paragraph", "Sentence", "Text"], ["1", "1", sentence], ["1", "2", "The Broncos won their third title."]]
    lines = list(records(rows))
    assert lines[0] == (1, f"Paragraph: 1; Sentence: 1; Text: {sentence}")  # one line, the sentence said once
    assert sum(sentence in text for _, text in lines) == 1
