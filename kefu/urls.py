from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from kefu.api import api
from kefu.core import views as core_views
from kefu.core.modules import optional_module

handler403 = "kefu.core.views.permission_denied"
handler404 = "kefu.core.views.page_not_found"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("language/", core_views.set_language, name="set_language"),
    path("api/v1/", api.urls),
]

# Each domain that has pages contributes them from its own `urls.py`.
for _module_name in (
    "kefu.accounts.urls",
    "kefu.conversations.urls",
    "kefu.integrations.urls",
    "kefu.orders.urls",
    "kefu.automation.urls",
    "kefu.compliance.urls",
    "kefu.metrics.urls",
):
    if optional_module(_module_name) is not None:
        urlpatterns.append(path("", include(_module_name)))
