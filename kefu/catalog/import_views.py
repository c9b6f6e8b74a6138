"""The product file upload page, /products/import/ (issue 12 §1).

An entry module like `views`: it shows what the import left unlinked, which the orders domain
(above the catalogue) knows. The products list and editing pages live in `kefu.catalog.views`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability
from kefu.catalog.importers import (
    ProductFileError,
    UploadRefused,
    import_uploaded_products,
    parse_map_option,
)
from kefu.orders.selectors import unlinked_items_for


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def import_products_page(request: ShopRequest) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {"summary": None, "filename": ""}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a product file."))
            status = 400
        else:
            context["filename"] = upload.name
            try:
                mapping = parse_map_option(request.POST.get("map", ""))
                context["summary"] = import_uploaded_products(
                    actor=user,
                    filename=upload.name or "upload",
                    data=upload.chunks(),
                    mapping=mapping or None,
                )
            except UploadRefused as exc:
                messages.error(request, str(exc))
                status = exc.status
            except ProductFileError as exc:
                messages.error(request, str(exc))
                status = 400
    context["unlinked"] = unlinked_items_for(user)
    return render(request, "catalog/import.html", context, status=status)
