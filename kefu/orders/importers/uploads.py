"""An owner's upload of an order export: stored under KEFU_DATA_DIR and queued for the
import task."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import translation

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.orders.models import ImportRun
from kefu.orders.tasks import run_import


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
    KEFU_DATA_DIR/imports and deleted after the import.
    """
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    folder = django_settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{shop.pk}-{uuid.uuid4().hex}"
    size = 0
    with target.open("wb") as out:
        for chunk in data:
            size += len(chunk)
            out.write(chunk)
    run = ImportRun.objects.create(
        shop=shop,
        filename=filename[:255],
        path=str(target),
        file_format=file_format or "",
        mapping=mapping or {},
        total_bytes=size,
        created_by=actor,
    )
    language = translation.get_language() or ""
    transaction.on_commit(lambda: run_import.delay(run.pk, language))
    return run
