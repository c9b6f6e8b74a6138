"""The product file upload page, /products/import/ (issue 12 §1).

An entry module like `views`: it shows what the import left unlinked, which the orders domain
(above the catalogue) knows. The products list and editing pages live in `kefu.catalog.views`.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability
from kefu.catalog import importers
from kefu.catalog.importers import ProductFileError, UploadRefused, import_uploaded_products
from kefu.catalog.mapped_upload import MappedUpload, mapped_upload_page
from kefu.catalog.models import ImportKind
from kefu.orders.selectors import unlinked_items_for


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def import_products_page(request: ShopRequest) -> HttpResponse:
    user = request.user
    upload = MappedUpload(
        kind=ImportKind.PRODUCTS,
        fields=importers.FIELDS,
        auto=importers.auto_field,
        labels=importers.FIELD_LABELS,
        run=lambda actor, name, data, mapping: import_uploaded_products(
            actor=actor, filename=name, data=data, mapping=mapping
        ),
        refusals=(ProductFileError,),
        rejections=(UploadRefused,),
        no_file=_("Choose a product file."),
        url_name="products_import",
        template="catalog/import.html",
    )
    return mapped_upload_page(
        request, user, upload, lambda actor: {"unlinked": unlinked_items_for(actor)}
    )
