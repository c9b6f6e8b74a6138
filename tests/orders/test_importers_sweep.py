"""An import whose worker died resumes from its stored upload, once; a second death or a
missing file ends it as failed with a reason, instead of "running" for ever (issue 10 item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from kefu.orders import tasks
from kefu.orders.models import ImportRun, Order
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

EXPORT = "tests/orders/fixtures/tmall_traditional_bom.csv"


def _upload(owner, *, attempts: int = 1) -> ImportRun:
    """The owner uploads an export; a worker claims it (as `run_import` does) and dies."""
    with open(EXPORT, "rb") as f:
        login_client(owner).post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(
        status="running", progressed_at=timezone.now(), attempts=attempts, rows=1, created=1
    )
    return ImportRun.objects.get(pk=run.pk)


def _silence(run: ImportRun) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        progressed_at=timezone.now() - dt.timedelta(minutes=11)
    )


def test_a_run_whose_worker_died_resumes_from_its_upload(shop, owner):
    run = _upload(owner)
    _silence(run)

    assert tasks.sweep_stale_imports() == 1  # requeued; the eager worker runs it at once

    run.refresh_from_db()
    assert (run.status, run.attempts, run.error) == ("done", 2, "")
    assert run.rows == run.created + run.updated + run.unchanged + run.merged + run.rejected
    assert Order.objects.filter(shop=shop).count() == run.created + run.updated + run.unchanged
    assert not Path(run.path).exists()
    page = login_client(owner).get(f"/orders/import/{run.pk}/").content.decode()
    assert "Resumed" in page or "已自动续传" in page


def test_a_run_that_died_twice_is_failed_and_its_upload_removed(shop, owner):
    run = _upload(owner, attempts=2)
    assert Path(run.path).exists()
    _silence(run)

    assert tasks.sweep_stale_imports() == 1

    run.refresh_from_db()
    assert run.status == "failed"
    assert "Upload the file again" in run.error or "重新上传" in run.error
    assert run.finished_at is not None
    assert not Path(run.path).exists()
    assert not Order.objects.exists()
    page = login_client(owner).get(f"/orders/import/{run.pk}/").content.decode()
    assert run.error in page


def test_a_run_without_its_file_is_failed(shop, owner):
    run = _upload(owner)
    Path(run.path).unlink()
    _silence(run)

    assert tasks.sweep_stale_imports() == 1

    run.refresh_from_db()
    assert run.status == "failed"


def test_a_run_still_making_progress_is_left_alone(shop, owner):
    run = _upload(owner)

    assert tasks.sweep_stale_imports() == 0

    run.refresh_from_db()
    assert run.status == "running"
    assert Path(run.path).exists()
