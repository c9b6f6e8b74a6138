"""The project's URLs plus one view that fails, to see what a seller meets on a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from kefu.urls import handler403, handler404, handler500, urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [*urlpatterns, path("test-broken/", broken)]
