from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from kefu.accounts import urls as accounts_urls
from kefu.api import api
from kefu.automation import urls as automation_urls
from kefu.care import urls as care_urls
from kefu.catalog import import_views as catalog_import_views
from kefu.catalog import urls as catalog_urls
from kefu.compliance import urls as compliance_urls
from kefu.conversations import urls as conversations_urls
from kefu.core import views as core_views
from kefu.metrics import urls as metrics_urls
from kefu.orders import urls as orders_urls
from kefu.outreach import urls as outreach_urls

handler403 = "kefu.core.views.permission_denied"
handler404 = "kefu.core.views.page_not_found"
handler500 = "kefu.core.views.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("language/", core_views.set_language, name="set_language"),
    path("api/v1/", api.urls),
    # Before the catalogue's own /products/<...>/ pages, which would take "import" for an id.
    path(
        "products/import/",
        catalog_import_views.import_products_page,
        name="products_import",
    ),
]

# Each domain that has pages contributes them from its own `urls.py`.
urlpatterns += [
    path("", include(urls))
    for urls in (
        accounts_urls,
        conversations_urls,
        orders_urls,
        catalog_urls,
        automation_urls,
        compliance_urls,
        care_urls,
        outreach_urls,
        metrics_urls,
    )
]
