"""The page flow every synchronous upload with a column mapping shares (the product file,
/products/import/, and the review file, /care/reviews/import/): forget the remembered mapping,
read the form's mapping, import, and show the file's columns to map when it was refused.

The order export has its own flow: it is imported in the background and its page follows the
run (kefu.orders.views)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.catalog.column_mappings import (
    AutoField,
    MappingRefused,
    forget_mapping,
    mapping_from_form,
    mapping_page_context,
    remembered_mapping,
)


class Summary(Protocol):
    headers: list[str]


@dataclass(frozen=True)
class MappedUpload:
    """One upload page: what it imports, how, and what it answers."""

    kind: str
    fields: Sequence[str]
    auto: AutoField
    labels: Mapping[str, object]
    # (actor, filename, chunks, mapping or None) -> the import's summary
    run: Callable[[User, str, Iterable[bytes], dict[str, str] | None], Summary]
    # The file cannot be read as this kind: 400, its columns shown to map.
    refusals: tuple[type[Exception], ...]
    # The upload itself is not taken (too large, wrong kind of file): its `status`, else 413.
    rejections: tuple[type[Exception], ...]
    no_file: str
    url_name: str
    template: str


def mapped_upload_page(
    request: HttpRequest,
    user: User,
    upload: MappedUpload,
    more: Callable[[User], dict[str, Any]] | None = None,
) -> HttpResponse:
    """GET shows the form and the remembered mapping; POST imports (or forgets the mapping).
    `more` adds what the page shows besides, read after the import so it shows its effect."""
    context: dict[str, Any] = {}
    status = 200
    headers: list[str] = []
    chosen: dict[str, str] = {}
    refused = False
    refusals: tuple[type[Exception], ...] = (MappingRefused, *upload.refusals)
    context.setdefault("summary", None)
    context.setdefault("filename", "")
    if request.method == "POST" and request.POST.get("action") == "forget":
        if forget_mapping(actor=user, kind=upload.kind):
            messages.success(request, _("The remembered column mapping was cleared."))
        return redirect(upload.url_name)
    if request.method == "POST":
        file = request.FILES.get("file")
        if file is None:
            messages.error(request, upload.no_file)
            status = 400
        else:
            context["filename"] = file.name
            try:
                fields = request.POST.getlist("field")
                chosen = mapping_from_form(
                    request.POST.getlist("header"),
                    fields,
                    upload.fields,
                    upload.auto,
                    remembered_mapping(shop_of(user), upload.kind),
                )
                summary = upload.run(user, file.name or "upload", file.chunks(), chosen or None)
                context["summary"] = summary
                headers = summary.headers
            except upload.rejections as exc:
                messages.error(request, str(exc))
                status = int(getattr(exc, "status", 413))
            except refusals as exc:
                messages.error(request, str(exc))
                headers = list(getattr(exc, "headers", []))
                refused = True
                status = 400
    context.update(
        mapping_page_context(
            shop=shop_of(user),
            kind=upload.kind,
            headers=headers,
            chosen=chosen,
            refused=refused,
            auto=upload.auto,
            labels=upload.labels,
            action=reverse(upload.url_name),
        )
    )
    if more is not None:
        context.update(more(user))
    return render(request, upload.template, context, status=status)
