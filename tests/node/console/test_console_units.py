"""The console's pure parts: chart geometry, the record form's reading, the login's redirect."""

from __future__ import annotations

import pytest

from node.console.charts import bar_chart
from node.console.forms import form_of, read_form, values_from
from node.console.login import _next, _username
from node.demo import DEMO_TEMPLATE
from registry import HandleValue, InvalidValue, Template

TEMPLATE = Template.parse(DEMO_TEMPLATE)


def test_bars_scale_to_a_round_top_and_label_a_few_days() -> None:
    chart = bar_chart([(f"2026-11-{day:02d}", day) for day in range(1, 31)])
    assert chart.ticks[0][1] == 0 and chart.ticks[-1][1] == 50  # 30 → 50
    tallest = max(chart.bars, key=lambda bar: bar.value)
    assert tallest.y == pytest.approx(chart.baseline - (chart.baseline - 8) * 30 / 50, abs=0.01)
    assert chart.bars[-1].show_label  # today is always labelled
    assert 4 <= sum(bar.show_label for bar in chart.bars) <= 10
    assert chart.total == sum(range(1, 31))


@pytest.mark.parametrize("values", [[], [0, 0], [1], [3, 7], [10**9]])
def test_charts_of_any_counts_stay_inside_the_plot(values: list[int]) -> None:
    chart = bar_chart([(f"2026-12-{n + 1:02d}", v) for n, v in enumerate(values)])
    for bar in chart.bars:
        assert 0 <= bar.height <= chart.baseline and bar.y >= 0
    assert [value for _, value in chart.ticks] == sorted({value for _, value in chart.ticks})


def test_a_form_keeps_what_it_does_not_edit() -> None:
    values = [
        HandleValue(1, "URL", "string", "https://example.com/"),
        HandleValue(100, "HS_ADMIN", "admin", {"handle": "0.NA/88.118", "index": 200}),
        HandleValue(400, "HS_SIGNATURE", "string", "eyJ..."),
        HandleValue(1001, "TEMPLATE", "string", "products-1.0"),
        HandleValue(2000, "productName", "string", "电机"),
    ]
    form = form_of(values, TEMPLATE)
    assert [f.value for f in form.fields if f.index == 2000] == ["电机"]
    assert form.rows[0] == ("1", "URL", "https://example.com/")
    assert {v.index for v in form.kept} == {100, 400}


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ({"row-0-index": "", "row-0-type": "URL", "row-0-value": "x"}, "needs an index"),
        ({"row-0-index": "x1", "row-0-type": "URL", "row-0-value": "x"}, "index must be"),
        ({"row-0-index": "0", "row-0-type": "URL", "row-0-value": "x"}, "outside"),
        ({"row-0-index": "1", "row-0-type": "", "row-0-value": "x"}, "needs an index and a type"),
        ({"row-0-index": "100", "row-0-type": "URL", "row-0-value": "x"}, "taken"),
        (
            {"row-0-index": "1", "row-0-type": "A", "row-1-index": "1", "row-1-type": "B"},
            "more than once",
        ),
    ],
)
def test_bad_rows_are_named(rows: dict, problem: str) -> None:
    kept = [HandleValue(100, "HS_ADMIN", "admin", {"handle": "0.NA/88.118", "index": 200})]
    with pytest.raises(InvalidValue, match=problem):
        values_from(read_form(rows, None, kept))


def test_empty_rows_are_dropped_and_fields_trimmed() -> None:
    form = read_form({"row-0-index": "", "row-0-type": "", "item-2000": "  电机 "}, TEMPLATE)
    values = values_from(form)
    assert [(v.index, v.value) for v in values] == [(2000, "电机")]


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        ("/console/identifiers?x=1", "/console/identifiers?x=1"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/consolex", "/console/"),
        (None, "/console/"),
    ],
)
def test_after_login_only_console_paths(raw: object, target: str) -> None:
    assert _next(raw) == target


def test_a_bare_prefix_names_its_first_credential() -> None:
    assert _username(" 88.118.8 ") == "300:88.118.8/ADMIN"
    assert _username("301:88.118.8/ADMIN") == "301:88.118.8/ADMIN"
