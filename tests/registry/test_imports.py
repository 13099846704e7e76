"""Import jobs: their status is a file every worker reads; a job whose process died says so."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from node.demo import DEMO_TEMPLATE
from registry import (
    ADMIN,
    BatchService,
    EntityNotFound,
    Forbidden,
    ImportService,
    Principal,
    RecordService,
    Role,
    TemplateService,
)
from registry.storage import Database

SAMPLE = Path(__file__).parents[2] / "examples" / "products.csv"
VERSION = DEMO_TEMPLATE["version"]


def _service(db: Database, directory: Path) -> ImportService:
    templates = TemplateService(db)
    return ImportService(db, BatchService(db, RecordService(db), templates), templates, directory)


async def test_another_worker_reads_the_status_and_a_dead_job_is_interrupted(
    db: Database, tmp_path: Path
) -> None:
    first = _service(db, tmp_path / "jobs")
    await first.templates.create(ADMIN, DEMO_TEMPLATE)
    upload = tmp_path / "upload.csv"
    upload.write_bytes(SAMPLE.read_bytes())
    started = await first.start(ADMIN, "88.118.8", VERSION, {}, upload, "csv", "ab" * 16)
    job = first.jobs[started["id"]]
    assert job.task is not None
    await job.task
    assert not upload.exists()
    other = _service(db, tmp_path / "jobs")
    status = other.get(ADMIN, "ab" * 16)
    assert (status["state"], status["registered"], status["failed"]) == ("done", 4, 1)
    stranger = Principal(Role.ENTERPRISE, "300:88.118.9/ADMIN", 2, frozenset({"88.118.9"}))
    with pytest.raises(Forbidden, match=r"may not write under prefix 88\.118\.8"):
        other.get(stranger, "ab" * 16)
    # A status file left "running" by a process that is gone.
    path = tmp_path / "jobs" / f"{'cd' * 16}.json"
    path.write_text(json.dumps({**status, "id": "cd" * 16, "state": "running", "updatedAt": 0}))
    assert other.get(ADMIN, "cd" * 16)["state"] == "interrupted"
    for bad in ("../jobs/" + "ab" * 16, "nope", "AB" * 16):
        with pytest.raises(EntityNotFound):
            other.get(ADMIN, bad)
    assert time.time() - status["updatedAt"] < 60 and os.listdir(tmp_path / "jobs")
