"""Activate the signed-in user's interface language (zh-Hans or English)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response

    @staticmethod
    def _language(request: HttpRequest) -> str:
        supported = {code for code, _ in settings.LANGUAGES}
        # The user is resolved lazily by AuthenticationMiddleware; sessions keep the choice too.
        chosen = request.session.get("kefu_language") if hasattr(request, "session") else None
        if chosen in supported:
            return str(chosen)
        from_query = request.GET.get("lang")
        if from_query in supported:
            return str(from_query)
        if request.path.startswith("/chat/"):
            # Buyers abroad: Chinese only when their browser asks for it, else English.
            accept = request.headers.get("Accept-Language", "").lower()
            return "zh-hans" if accept.startswith("zh") else "en"
        return translation.get_language_from_request(request) or settings.LANGUAGE_CODE
