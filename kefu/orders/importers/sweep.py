"""Imports whose worker died (a restart, a crash, the memory cap) resume from their stored
upload, once; after that, or without the file, they end as failed instead of showing
"running" for ever (issue 10 item 4). Upserts are idempotent, so a resumed run stores each
order once: the rows stored before the crash count as unchanged the second time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from kefu.orders.models import ImportRun, ImportStatus

# Progress is written after every chunk (seconds apart even for large files).
STALE_AFTER = dt.timedelta(seconds=settings.KEFU_IMPORT_STALE_SECONDS)
# A file that killed its worker twice (say, the worker's memory cap) is not tried a third time.
MAX_ATTEMPTS = 2


@dataclass
class Swept:
    resumed: list[int] = field(default_factory=list)
    failed: int = 0


def sweep_stale_imports(*, now: dt.datetime | None = None) -> Swept:
    """Requeue or fail the imports silent for ``STALE_AFTER``; the caller enqueues the
    resumed ones (their ids)."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    silent = Q(progressed_at__lt=cutoff) | Q(progressed_at__isnull=True, created_at__lt=cutoff)
    stale = (
        ImportRun.objects.filter(status__in=(ImportStatus.RUNNING, ImportStatus.QUEUED))
        .filter(silent)
        .select_related("created_by")
    )
    swept = Swept()
    for run in stale:
        has_file = bool(run.path) and Path(run.path).exists()
        if has_file and run.attempts < MAX_ATTEMPTS:
            # Conditional on its state: a worker that was only slow and reported meanwhile
            # keeps the run.
            resumed = (
                ImportRun.objects.filter(pk=run.pk, status=run.status)
                .filter(silent)
                .update(
                    status=ImportStatus.QUEUED,
                    progressed_at=now,
                    done_bytes=0,
                    rows=0,
                    created=0,
                    updated=0,
                    unchanged=0,
                    merged=0,
                    rejected=0,
                    rejections=[],
                )
            )
            if resumed:
                swept.resumed.append(run.pk)
            continue
        # The reason is stored as text: in the language of whoever uploaded the file.
        language = getattr(run.created_by, "language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            reason = gettext(
                "The import stopped: the process running it ended (a restart or a crash). "
                "Upload the file again: orders already stored are updated, never doubled."
            )
        failed = (
            ImportRun.objects.filter(pk=run.pk, status=run.status)
            .filter(silent)
            .update(status=ImportStatus.FAILED, error=reason, finished_at=now)
        )
        if failed:
            swept.failed += 1
            if run.path:
                Path(run.path).unlink(missing_ok=True)
    return swept
