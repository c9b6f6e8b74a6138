"""An import whose worker died ends as failed with a reason and its upload removed, instead
of "running" for ever (issue 10 item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from kefu.orders import tasks
from kefu.orders.models import ImportRun
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def _upload(owner) -> ImportRun:
    """The owner uploads an export; the worker claims it (as `run_import` does) and dies."""
    with open("tests/orders/fixtures/tmall_traditional_bom.csv", "rb") as f:
        login_client(owner).post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status="running", progressed_at=timezone.now())
    return ImportRun.objects.get(pk=run.pk)


def test_a_run_silent_past_the_limit_is_failed_and_its_upload_removed(shop, owner):
    run = _upload(owner)
    assert Path(run.path).exists()
    ImportRun.objects.filter(pk=run.pk).update(
        progressed_at=timezone.now() - dt.timedelta(minutes=11)
    )

    assert tasks.sweep_stale_imports() == 1

    run.refresh_from_db()
    assert run.status == "failed"
    assert "Upload the file again" in run.error or "重新上传" in run.error
    assert run.finished_at is not None
    assert not Path(run.path).exists()
    page = login_client(owner).get(f"/orders/import/{run.pk}/").content.decode()
    assert run.error in page


def test_a_run_still_making_progress_is_left_alone(shop, owner):
    run = _upload(owner)

    assert tasks.sweep_stale_imports() == 0

    run.refresh_from_db()
    assert run.status == "running"
    assert Path(run.path).exists()
