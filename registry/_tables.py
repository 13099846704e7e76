"""Tables in files: CSV and Excel rows read and written as a stream, one row at a time.

Reading never holds a whole file: CSV through ``csv.reader`` over the open file, Excel through
openpyxl's ``read_only`` mode (rows parsed from the sheet's XML as they are asked for). Writing
Excel uses ``write_only`` mode, which spools rows to a temporary file. Cells come out as text:
a whole number stays ``12`` (not ``12.0``) and a date cell becomes ``YYYY-MM-DD``.

A CSV export is opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``,
``@`` (or a tab or carriage return before one) as a formula: a registered value such as
``=HYPERLINK(…)`` would run on the desk of whoever opens the export (CSV injection). Such a cell
is written led by an apostrophe, which spreadsheets take as "text", and so is one that starts
with an apostrophe; the node's CSV import takes exactly that apostrophe off again, so an export
imports back unchanged. A plain number (``-20``) is left as it is. Excel cells are written as
text and need none of this.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from ._errors import InvalidInput

__all__ = [
    "CSV",
    "MAX_CELL",
    "XLSX",
    "XLSX_TYPE",
    "XlsxSink",
    "csv_chunks",
    "csv_stream",
    "read_rows",
    "sniff_kind",
    "write_xlsx",
    "xlsx_stream",
]

CSV, XLSX = "csv", "xlsx"
# The media type of an Excel workbook (``.xlsx``).
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL = 65535
MAX_COLUMNS = 512
_ZIP_MAGIC = b"PK\x03\x04"


# What a spreadsheet runs as a formula when a cell starts with it (OWASP's list, and the
# full-width signs some spreadsheets read the same), and the apostrophe that marks text.
_FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_TEXT_MARK = "'"
_ESCAPED_STARTS = _FORMULA_STARTS | {_TEXT_MARK}
# ASCII digits only: Python's ``\d`` takes any script's, which no spreadsheet reads as a number.
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _defused(cell: str) -> str:
    """``cell`` as a CSV export writes it: led by an apostrophe when a spreadsheet would run it
    as a formula (or it starts with an apostrophe itself), unless it is a plain number."""
    if cell[:1] in _ESCAPED_STARTS and not _PLAIN_NUMBER.fullmatch(cell):
        return _TEXT_MARK + cell
    return cell


def _restored(cell: str) -> str:
    """A CSV cell as imported: the apostrophe ``_defused`` added taken off (only that one)."""
    if cell[:1] == _TEXT_MARK and cell[1:2] in _ESCAPED_STARTS:
        return cell[1:]
    return cell


def sniff_kind(head: bytes) -> str:
    """``xlsx`` for a zip archive (an Excel workbook), else ``csv``."""
    return XLSX if head.startswith(_ZIP_MAGIC) else CSV


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _checked(number: int, cells: list[str]) -> list[str]:
    if len(cells) > MAX_COLUMNS:
        raise InvalidInput(f"row {number} has {len(cells)} columns; at most {MAX_COLUMNS}")
    for cell in cells:
        if len(cell) > MAX_CELL:
            raise InvalidInput(f"row {number} has a cell over {MAX_CELL} characters")
    return cells


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InvalidInput(f"row {reader.line_num}: not valid CSV: {exc}") from exc
                cells = [_restored(cell.strip()) for cell in cells]
                yield reader.line_num, _checked(reader.line_num, cells)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 text (save the CSV as UTF-8): byte {exc.start}"
        ) from exc


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # a CSV import never pays for it

    # A file object, not the path: openpyxl judges a path by its extension, uploads have none.
    source = path.open("rb")
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:
        source.close()
        # openpyxl raises what its zip and XML layers raise; all mean "not a workbook".
        raise InvalidInput(f"the file is not a readable Excel workbook (.xlsx): {exc}") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                raw = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                # As for opening it: zip, zlib and XML errors alike mean a damaged file.
                raise InvalidInput(f"row {number + 1}: the workbook is damaged: {exc}") from exc
            number += 1
            cells = [_cell(value) for value in raw]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, _checked(number, cells)
    finally:
        book.close()
        source.close()


def read_rows(path: Path, kind: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of the file's first sheet, the header row first (number 1)."""
    rows = _xlsx_rows(path) if kind == XLSX else _csv_rows(path)
    for number, cells in rows:
        if any(cells):
            yield number, cells


def csv_chunks(
    rows: Iterable[Sequence[str]], size: int = 64 * 1024, *, bom: bool = True
) -> Iterator[bytes]:
    """CSV text in chunks of about ``size`` (UTF-8; the BOM lets Excel read Chinese right),
    formulas defused (``_defused``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    for row in rows:
        writer.writerow([_defused(cell) for cell in row])
        if buffer.tell() >= size:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


class XlsxSink:
    """An Excel workbook written a row at a time (write-only mode spools rows to disk)."""

    def __init__(self, title: str = "identifiers") -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self._cell = WriteOnlyCell
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title)

    def append(self, row: Sequence[str]) -> None:
        cells = []
        for value in row:
            cell = self._cell(self._sheet, value=value)
            # Text, always: a value starting with '=' is data here, never a formula.
            cell.data_type = "s"
            cells.append(cell)
        self._sheet.append(cells)

    def save(self, target: IO[bytes]) -> None:
        self._book.save(target)


def write_xlsx(
    rows: Iterable[Sequence[str]], target: IO[bytes], title: str = "identifiers"
) -> None:
    """An Excel workbook of ``rows`` written to ``target``."""
    sink = XlsxSink(title)
    for row in rows:
        sink.append(row)
    sink.save(target)


async def csv_stream(rows: AsyncIterator[list[str]]) -> AsyncIterator[bytes]:
    """CSV bytes of ``rows`` as they come (a BOM first), 1,000 rows at a time."""
    page: list[list[str]] = []
    first = True
    async for row in rows:
        page.append(row)
        if len(page) >= 1000:
            for chunk in csv_chunks(page, bom=first):
                yield chunk
            page, first = [], False
    for chunk in csv_chunks(page, bom=first):
        yield chunk


async def xlsx_stream(rows: AsyncIterator[list[str]]) -> AsyncIterator[bytes]:
    """An Excel workbook of ``rows``: spooled by write-only mode, saved to a temporary file,
    then read back in 64 KiB chunks (memory stays flat however many rows)."""
    sink = XlsxSink()
    async for row in rows:
        sink.append(row)
    with tempfile.TemporaryFile() as target:
        await asyncio.to_thread(sink.save, target)
        target.seek(0)
        while chunk := await asyncio.to_thread(target.read, 64 * 1024):
            yield chunk
