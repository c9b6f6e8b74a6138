"""An owner's upload of an order export: stored under KEFU_DATA_DIR and queued for the
import task."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.catalog.column_mappings import remember_mapping, remembered_mapping
from kefu.catalog.models import ImportKind
from kefu.core.filelimits import FileLimitError, check_xlsx, import_limits, too_large
from kefu.orders.importers.sweep import STALE_AFTER
from kefu.orders.models import ImportRun, ImportStatus
from kefu.orders.tasks import run_import


class UploadRefused(Exception):
    """The upload is not taken (nothing is stored): `status` is the HTTP answer for it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def start_import(
    *,
    actor: User,
    filename: str,
    data: Any,
    mapping: dict[str, str] | None = None,
    file_format: str | None = None,
) -> ImportRun:
    """Store an uploaded export and queue its import (owner or settings-granted sub-account).

    `data` is an iterable of byte chunks (an UploadedFile's `chunks()`); it is written to
    KEFU_DATA_DIR/imports and deleted after the import. `mapping` (the page's mapping form)
    is remembered for the shop's next order uploads; the shop's remembered mapping applies
    to the headers `mapping` does not name.
    """
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    # One import at a time per shop: the import worker serves the shops in turn, and a shop
    # that queues file after file never holds the others back by more than one import each.
    # A run silent for the sweep's whole grace time no longer counts: a worker that is down
    # (or `kefu run --no-worker`) must not lock the shop out of uploads for ever.
    recent = timezone.now() - STALE_AFTER
    busy = (
        ImportRun.objects.filter(shop=shop, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING))
        .filter(
            Q(progressed_at__gte=recent) | Q(progressed_at__isnull=True, created_at__gte=recent)
        )
        .exists()
    )
    if busy:
        raise UploadRefused(
            gettext("An import of this shop is still running; upload the next file when it ends."),
            status=409,
        )
    limits = import_limits()
    folder = django_settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{shop.pk}-{uuid.uuid4().hex}"
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in data:
                size += len(chunk)
                if size > limits.upload_bytes:
                    raise UploadRefused(too_large(filename, size, limits.upload_bytes), status=413)
                out.write(chunk)
        with target.open("rb") as stored:
            zipped = stored.read(4) == b"PK\x03\x04"
        if zipped:
            # The ZIP directory only (milliseconds): a bomb is refused on the spot; the worker
            # inflates the sheets to check them before reading a row.
            try:
                check_xlsx(target, limits, scan=False)
            except FileLimitError as exc:
                raise UploadRefused(str(exc).replace(target.name, filename), status=400) from exc
    except UploadRefused:
        target.unlink(missing_ok=True)
        raise
    if mapping:
        combined = remember_mapping(actor=actor, kind=ImportKind.ORDERS, mapping=mapping)
    else:
        combined = remembered_mapping(shop, ImportKind.ORDERS)
    run = ImportRun.objects.create(
        shop=shop,
        filename=filename[:255],
        path=str(target),
        file_format=file_format or "",
        mapping=combined,
        total_bytes=size,
        created_by=actor,
    )
    language = translation.get_language() or ""
    transaction.on_commit(lambda: run_import.delay(run.pk, language))
    return run
