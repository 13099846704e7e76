"""Interpreter tuning the node applies at startup."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from node.runtime import tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_tune_gc_sets_the_young_generation_threshold_only(restore_gc: None) -> None:
    _, middle, oldest = gc.get_threshold()
    tune_gc(12_345)
    assert gc.get_threshold() == (12_345, middle, oldest)


def test_zero_leaves_the_interpreter_default(restore_gc: None) -> None:
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before
