"""The node's trust key: made once on a first start, however many workers start together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from node import Settings
from node.trust import ensure_key, key_store


def test_ensure_key_makes_one_key_even_when_workers_start_together(tmp_path: Path) -> None:
    settings = Settings(keys_dir=str(tmp_path / "keys"))
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda _: ensure_key(settings).kid, range(16)))
    infos = key_store(settings).list()
    assert len(infos) == 1 and kids == {infos[0].kid}
    assert infos[0].alg == "ES256" and infos[0].index == 300 and infos[0].active


def test_ensure_key_keeps_the_active_key_after_a_rotation(tmp_path: Path) -> None:
    settings = Settings(keys_dir=str(tmp_path / "keys"))
    first = ensure_key(settings)
    rotated = key_store(settings).rotate("Ed25519")
    assert ensure_key(settings).kid == rotated.kid != first.kid
    assert len(key_store(settings).list()) == 2
