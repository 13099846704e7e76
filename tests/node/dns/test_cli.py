"""``idnode dns name`` and ``idnode dns handle``: the mapping from the command line."""

from __future__ import annotations

import pytest

from node.cli import main


def test_name_and_handle_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "name", "88.118.8/JXDY2106023"]) == 0
    name = capsys.readouterr().out.strip()
    assert name == "99c48m9i64o3cc1i6c._1.8.118.88.idis.internal."
    assert main(["dns", "handle", name.upper()]) == 0
    assert capsys.readouterr().out.strip() == "88.118.8/JXDY2106023"


def test_bad_names_and_handles_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "handle", "99c48m9i64o3cc1i6d._1.8.118.88.idis.internal."]) == 1
    assert "not the canonical name" in capsys.readouterr().err
    assert main(["dns", "name", "88.118.8/" + "x" * 200]) == 1
    assert "too long for a DNS name" in capsys.readouterr().err
    assert main(["dns", "name", "--json", "no-slash"]) == 1
    assert "InvalidIdentifier" in capsys.readouterr().err
