from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from kefu.core.health import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("inbox")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    from kefu.accounts.services import set_interface_language

    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        set_interface_language(user=request.user, language=language)
    if language in {"zh-hans", "en"}:
        request.session["kefu_language"] = language
    next_url = request.POST.get("next") or "/"
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = "/"
    return redirect(next_url)


def _error_page(request: HttpRequest, status: int, title: str, explanation: str) -> HttpResponse:
    # An htmx request swaps the answer into the page (see base.html): a line, not a page.
    template = "errors/fragment.html" if request.headers.get("HX-Request") else "errors/page.html"
    return render(request, template, {"title": title, "explanation": explanation}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(
        request,
        403,
        gettext("Not for this account"),
        gettext(
            "Your account may not do this. The main account can grant sub-accounts the right "
            "to change settings, issue refunds or send broadcasts."
        ),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        # An address no API route takes (`/api/v1/orders/abc`) answers in the API's error
        # shape, like an id the API does not know.
        return JsonResponse({"detail": "Not Found"}, status=404)
    return _error_page(
        request,
        404,
        gettext("Not found"),
        gettext(
            "There is nothing here, or it belongs to a product or conversation your account "
            "does not see."
        ),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Plain on purpose: whatever broke may be in the templates or the database the usual
    pages need. The request id is what the logs are searched by."""
    request_id = escape(getattr(request, "request_id", "-"))
    title = escape(gettext("Something went wrong"))
    explanation = escape(
        gettext(
            "Nothing was lost that was saved before. Try again; if it happens again, "
            "give your admin this code:"
        )
    )
    body = (
        f'<!doctype html><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><p>{explanation} <code>{request_id}</code></p>"
    )
    return HttpResponse(body, status=500)
