"""The product file upload page, /products/import/ (issue 12 §1).

An entry module like `views`: it shows what the import left unlinked, which the orders domain
(above the catalogue) knows. The products list and editing pages live in `kefu.catalog.views`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.catalog import importers
from kefu.catalog.column_mappings import (
    MappingRefused,
    forget_mapping,
    mapping_from_form,
    mapping_page_context,
)
from kefu.catalog.importers import ProductFileError, UploadRefused, import_uploaded_products
from kefu.catalog.models import ImportKind
from kefu.orders.selectors import unlinked_items_for


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def import_products_page(request: ShopRequest) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {"summary": None, "filename": ""}
    status = 200
    headers: list[str] = []
    chosen: dict[str, str] = {}
    refused = False
    if request.method == "POST" and request.POST.get("action") == "forget":
        if forget_mapping(actor=user, kind=ImportKind.PRODUCTS):
            messages.success(request, _("The remembered column mapping was cleared."))
        return redirect("products_import")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a product file."))
            status = 400
        else:
            context["filename"] = upload.name
            try:
                chosen = mapping_from_form(
                    request.POST.getlist("header"),
                    request.POST.getlist("field"),
                    importers.FIELDS,
                    importers.auto_field,
                )
                summary = import_uploaded_products(
                    actor=user,
                    filename=upload.name or "upload",
                    data=upload.chunks(),
                    mapping=chosen or None,
                )
                context["summary"] = summary
                headers = summary.headers
            except UploadRefused as exc:
                messages.error(request, str(exc))
                status = exc.status
            except (ProductFileError, MappingRefused) as exc:
                messages.error(request, str(exc))
                headers = list(getattr(exc, "headers", []))
                refused = True
                status = 400
    context.update(
        mapping_page_context(
            shop=shop_of(user),
            kind=ImportKind.PRODUCTS,
            headers=headers,
            chosen=chosen,
            refused=refused,
            auto=importers.auto_field,
            labels=importers.FIELD_LABELS,
            action=reverse("products_import"),
        )
    )
    context["unlinked"] = unlinked_items_for(user)
    return render(request, "catalog/import.html", context, status=status)
