"""Imports whose worker died (a restart, a crash) end as failed, with their upload removed,
instead of showing "running" for ever (issue 10 item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from kefu.orders.models import ImportRun, ImportStatus

# Progress is written after every chunk (seconds apart even for large files).
STALE_AFTER = dt.timedelta(minutes=10)


def sweep_stale_imports(*, now: dt.datetime | None = None) -> int:
    """Fail the running imports silent for ``STALE_AFTER``; returns how many."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    stale = (
        ImportRun.objects.filter(status=ImportStatus.RUNNING)
        .filter(Q(progressed_at__lt=cutoff) | Q(progressed_at__isnull=True, created_at__lt=cutoff))
        .select_related("created_by")
    )
    swept = 0
    for run in stale:
        # The reason is stored as text: in the language of whoever uploaded the file.
        language = getattr(run.created_by, "language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            reason = gettext(
                "The import stopped: the process running it ended (a restart or a crash). "
                "Upload the file again: orders already stored are updated, never doubled."
            )
        # Conditional on still running: a worker that was only slow and finishes meanwhile wins.
        failed = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, error=reason, finished_at=now
        )
        if failed:
            swept += 1
            if run.path:
                Path(run.path).unlink(missing_ok=True)
    return swept
