"""CSV and Excel rows read as text, a table of cases and a bounded fuzz of both parsers."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from registry import (
    XLSX_TYPE,
    InvalidInput,
    XlsxSink,
    csv_chunks,
    csv_stream,
    read_rows,
    sniff_kind,
    xlsx_stream,
)


def _rows(tmp_path: Path, content: bytes) -> list[tuple[int, list[str]]]:
    path = tmp_path / "upload"
    path.write_bytes(content)
    return list(read_rows(path, sniff_kind(content[:4])))


@pytest.mark.parametrize(
    ("content", "rows"),
    [
        (b"a,b\n1,2\n", [(1, ["a", "b"]), (2, ["1", "2"])]),
        ("\ufeffsuffix,名称\r\nX,电机\r\n".encode(), [(1, ["suffix", "名称"]), (2, ["X", "电机"])]),
        (b'a\n"line\nbreak"\n', [(1, ["a"]), (3, ["line\nbreak"])]),
        (b"a,b\n\n,\n 1 , 2 \n", [(1, ["a", "b"]), (4, ["1", "2"])]),
        (b"a,b\n1\n", [(1, ["a", "b"]), (2, ["1"])]),
        (b'a\n"x""y"\n', [(1, ["a"]), (2, ['x"y'])]),
    ],
)
def test_csv_cases(tmp_path: Path, content: bytes, rows: list) -> None:
    assert _rows(tmp_path, content) == rows


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a\n\xff\n", "not UTF-8"),
        (b'a\n"open\n', "row 2: not valid CSV"),
        (b'a\n"x"y\n', "not valid CSV"),
        (("x," * 600 + "\n").encode(), "at most 512"),
        (b"PK\x03\x04junk", "not a readable Excel workbook"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _rows(tmp_path, content)


def _workbook(*rows: list) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_excel_cells_become_text(tmp_path: Path) -> None:
    content = _workbook(
        ["suffix", "n", "d", "f", "t"],
        ["A1", 12, date(2026, 3, 1), 2.5, True],
        [None, None, None, None, None],
        ["A2", 12.0, datetime(2026, 3, 1, 8, 30), None, None],
    )
    assert _rows(tmp_path, content) == [
        (1, ["suffix", "n", "d", "f", "t"]),
        (2, ["A1", "12", "2026-03-01", "2.5", "true"]),
        (4, ["A2", "12", "2026-03-01T08:30:00"]),
    ]


def test_written_excel_keeps_formulas_as_text(tmp_path: Path) -> None:
    sink = XlsxSink()
    sink.append(["suffix", "note"])
    sink.append(["X", "=1+1"])
    buffer = io.BytesIO()
    sink.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    assert _rows(tmp_path, buffer.getvalue())[1] == (2, ["X", "=1+1"])


# (a value, as the CSV export writes it): what a spreadsheet would run as a formula opens as
# text, led by the apostrophe spreadsheets take as "this is text"; a plain number stays one.
DEFUSED = [
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("＝1+1", "'＝1+1"),  # the full-width sign some spreadsheets read as '='
    ("'quoted", "''quoted"),  # the escape itself, escaped: the import gives it back whole
    ("'", "''"),
    ("-20", "-20"),
    ("+86", "+86"),
    ("-1.5e3", "-1.5e3"),
    ("-١٢٣", "'-١٢٣"),  # digits of another script: not a number to a spreadsheet
    ("电机 = motor", "电机 = motor"),
    ("a-b", "a-b"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "written"), DEFUSED)
def test_csv_export_defuses_formulas_and_the_import_restores_them(
    tmp_path: Path, value: str, written: str
) -> None:
    content = b"".join(csv_chunks([["suffix", "note"], ["X", value]]))
    [_, cells] = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert cells == ["X", written]
    # The node's own import gives the value back exactly (one that starts with a tab or a
    # carriage return too: escaped, it is not trimmed as a CSV cell's blanks are).
    assert _rows(tmp_path, content)[1][1] == ["X", value]


def test_an_apostrophe_written_by_hand_is_kept_unless_it_marks_text(tmp_path: Path) -> None:
    content = b"suffix,a,b,c\nX,'abc,'=1+1,''\n"
    assert _rows(tmp_path, content)[1] == (2, ["X", "'abc", "=1+1", "'"])


def test_csv_chunks_round_trip(tmp_path: Path) -> None:
    rows = [["suffix", "名称"], *([f"S{n}", 'a,"b"\nc'] for n in range(3000))]
    content = b"".join(csv_chunks(rows, size=1024))
    assert content.startswith(b"\xef\xbb\xbf")
    assert [cells for _, cells in _rows(tmp_path, content)] == rows


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(buffer) + 1)
        if choice < 0.4 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            buffer[position:position] = bytes(rng.choice(b'",\n\r\x00\xff\xe7') for _ in range(3))
        else:
            del buffer[position : position + rng.randint(1, 64)]
    return bytes(buffer)


def test_fuzzed_files_give_rows_or_a_clear_refusal(tmp_path: Path) -> None:
    rng = random.Random(2121)
    seeds = [
        'suffix,产品名称,数量\nA,电机,1\n"B","x,y",2\n'.encode(),
        _workbook(["suffix", "名称"], ["A", "电机"], ["B", 3]),
    ]
    for attempt in range(300):
        seed = seeds[attempt % 2]
        content = (
            _mutate(rng, seed) if attempt % 5 else bytes(rng.randrange(256) for _ in range(64))
        )
        try:
            for number, cells in _rows(tmp_path, content):
                assert number >= 1 and all(isinstance(cell, str) for cell in cells)
        except InvalidInput as exc:
            assert exc.message


async def _agen(rows: list[list[str]]):
    for row in rows:
        yield row


async def test_csv_and_xlsx_streams_round_trip(tmp_path: Path) -> None:
    # Over 1,000 rows: the CSV stream's pages join with a single BOM.
    rows = [["suffix", "名称"]] + [[f"P{n}", "=1+1" if n == 5 else f"电机{n}"] for n in range(1500)]
    csv_bytes = b"".join([chunk async for chunk in csv_stream(_agen(rows))])
    assert csv_bytes.count("\ufeff".encode()) == 1
    assert [cells for _, cells in _rows(tmp_path, csv_bytes)] == rows
    xlsx_bytes = b"".join([chunk async for chunk in xlsx_stream(_agen(rows))])
    assert sniff_kind(xlsx_bytes[:4]) == "xlsx"
    assert [cells for _, cells in _rows(tmp_path, xlsx_bytes)] == rows
    assert XLSX_TYPE.endswith("spreadsheetml.sheet")
