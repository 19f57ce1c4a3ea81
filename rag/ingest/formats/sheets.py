"""Spreadsheets and delimited text as tables (rag/ingest/tables.py: each row names its columns), every
row labelled with its cells ("Budget!A7:F7", merged into "Budget!A7:F12" for a chunk of rows; a CSV's
"row 7"). Formulas give their last computed value, as the spreadsheet showed it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.text import decode_text
from rag.ingest.formats.zipped import checked_zip
from rag.ingest.tables import cell_text, column_name, records

# (sheet name, rows of cell texts); row and column 0 are the sheet's A1
Sheet = tuple[str, list[list[str]]]


def _sheet_text(sheets: Iterator[Sheet]) -> Extracted:
    built = TextBuilder()
    for name, rows in sheets:
        width = max((len(row) for row in rows), default=0)
        last = column_name(max(width - 1, 0))
        prefix = f"{name}!" if name else ""
        for n, text in records(rows):
            built.add(text, f"{prefix}A{n + 1}:{last}{n + 1}", end="\n")
        built.end_paragraph()
    return built.result()


def _broken(path: Path, kind: str, error: Exception) -> LoadError:
    return LoadError(f"{path}: malformed {kind} ({type(error).__name__}: {str(error)[:80]})")


def read_xlsx(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    from openpyxl import load_workbook

    checked_zip(path, data, "XLSX", options)
    try:
        # read_only streams rows; data_only gives formulas' cached values
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to parse means a malformed file
        raise _broken(path, "XLSX", error) from None

    def sheets() -> Iterator[Sheet]:
        for sheet in book.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            yield sheet.title, [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]

    try:
        extracted = _sheet_text(sheets())
    except Exception as error:  # noqa: BLE001 - a damaged sheet part shows only when read
        raise _broken(path, "XLSX", error) from None
    finally:
        book.close()
    extracted.title = book.properties.title or ""
    return extracted


def read_xls(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as error:  # noqa: BLE001 - any failure to parse means a malformed file
        if "encrypted" in str(error).lower():
            raise LoadError(f"{path}: encrypted XLS (it needs a password)", reason="encrypted") from None
        raise _broken(path, "XLS", error) from None

    def value(cell: Any) -> str:  # noqa: ANN401 - an xlrd cell
        if cell.ctype == xlrd.XL_CELL_DATE:
            return (
                xlrd.xldate.xldate_as_datetime(cell.value, book.datemode).isoformat(sep=" ").removesuffix(" 00:00:00")
            )
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return "TRUE" if cell.value else "FALSE"
        if cell.ctype == xlrd.XL_CELL_ERROR:
            return ""
        return cell_text(cell.value)

    def sheets() -> Iterator[Sheet]:
        for n in range(book.nsheets):
            sheet = book.sheet_by_index(n)
            if sheet.visibility == 0:
                yield sheet.name, [[value(cell) for cell in sheet.row(r)] for r in range(sheet.nrows)]
            book.unload_sheet(n)

    try:
        return _sheet_text(sheets())
    except Exception as error:  # noqa: BLE001 - a damaged sheet shows only when read
        raise _broken(path, "XLS", error) from None


def read_ods(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    """OpenDocument spreadsheets through pandas' reader (odfpy), every cell as text."""
    import pandas as pd

    checked_zip(path, data, "ODS", options)
    try:
        frames = pd.read_excel(io.BytesIO(data), engine="odf", sheet_name=None, header=None, dtype=object)
    except Exception as error:  # noqa: BLE001 - any failure to parse means a malformed file
        raise _broken(path, "ODS", error) from None

    def sheets() -> Iterator[Sheet]:
        for name, frame in frames.items():
            rows = [[cell_text(None if pd.isna(v) else v) for v in row] for row in frame.itertuples(index=False)]
            yield str(name), rows

    return _sheet_text(sheets())


def _delimited(path: Path, data: bytes, delimiter: str | None) -> Extracted:
    text = decode_text(data, path)
    if delimiter is None:  # a .csv may be ; or tab separated (European spreadsheets write ;)
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    csv.field_size_limit(len(text) + 1)
    try:
        rows = [[cell_text(cell) for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as error:
        raise LoadError(f"{path}: malformed CSV ({error})") from None
    built = TextBuilder()
    for n, record in records(rows):
        built.add(record, f"row {n + 1}", end="\n")
    return built.result()


def read_csv(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    return _delimited(path, data, None)


def read_tsv(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    return _delimited(path, data, "\t")
