from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
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
