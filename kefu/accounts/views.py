"""Login, logout and the shop's settings pages (shop profile, webhook, sub-accounts, API
tokens)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.accounts import services, tokens
from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.lockout import login_locked_for
from kefu.accounts.models import Platform, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.accounts.selectors import access_member, team_of
from kefu.automation.starter import install_starter_set
from kefu.conversations.presence import agent_seen, agent_went_offline
from kefu.desk import team
from kefu.desk.setup import callback_connected, setup_checklist
from kefu.integrations.ping import send_test_ping


class LoginForm(AuthenticationForm):
    """Django's login form, saying so when the login or the address is locked out."""

    locked_for: int | None = None

    def clean(self) -> dict[str, object]:
        try:
            return super().clean()
        except ValidationError:
            self.locked_for = login_locked_for(
                self.request, self.cleaned_data.get("username") or ""
            )
            if self.locked_for is None:
                raise
            raise ValidationError(
                _(
                    "This account is temporarily locked after too many failed logins. "
                    "Try again in %(minutes)d minutes."
                ),
                code="locked",
                params={"minutes": max(1, -(-self.locked_for // 60))},
            ) from None


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        locked_for = getattr(form, "locked_for", None)
        if locked_for is not None:
            response.status_code = 429
            response["Retry-After"] = str(locked_for)
        return response

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        self.request.session["kefu_language"] = user.language
        agent_seen(user=user)
        return response


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    if isinstance(user, User) and user.shop_id is not None:
        # Logging out is going offline now: conversations move to colleagues.
        agent_went_offline(agent=user, reason="logout")
    return auth_views.LogoutView.as_view()(request)


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def shop_settings(request: ShopRequest) -> HttpResponse:
    user = request.user
    can_edit = has_capability(user, Capability.MANAGE_SETTINGS)
    if request.method == "POST":
        if request.POST.get("action") == "test_ping":
            return _test_ping(request)
        if request.POST.get("action") == "rotate_secret":
            services.rotate_webhook_secret(actor=user)
            messages.success(request, _("A new webhook secret is active; update your integration."))
            return redirect("settings")
        if request.POST.get("action") == "intake_mode":
            services.set_intake_mode(
                actor=user, synchronous=request.POST.get("intake_synchronous") == "on"
            )
            messages.success(request, _("Webhook answer mode saved."))
            return redirect("settings")
        try:
            if request.POST.get("action") == "rate_limits":
                services.set_rate_limits(actor=user, limits=_rate_limits(request))
                messages.success(request, _("Rate limits saved."))
                return redirect("settings")
            services.update_shop_settings(
                actor=user,
                name=request.POST.get("name", ""),
                timezone_name=request.POST.get("timezone", ""),
                currency=request.POST.get("currency", ""),
                callback_url=request.POST.get("callback_url", ""),
                sign_replies=request.POST.get("sign_replies") == "on",
                signature_template=request.POST.get("signature_template", ""),
            )
        except ValidationError as exc:
            user.shop.refresh_from_db()  # type: ignore[union-attr]
            return render(
                request,
                "accounts/settings.html",
                {"can_edit": can_edit, "errors": exc.messages, "platforms": Platform.choices},
                status=400,
            )
        messages.success(request, _("Settings saved."))
        return redirect("settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "can_edit": can_edit,
            "platforms": Platform.choices,
            "connected": callback_connected(user.shop),  # type: ignore[arg-type]
        },
    )


def _test_ping(request: ShopRequest) -> HttpResponse:
    try:
        result = send_test_ping(actor=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("settings")
    if result.ok:
        messages.success(request, _("The callback answered the signed test ping."))
    else:
        messages.error(
            request,
            _("The callback did not answer the test ping: %(detail)s") % {"detail": result.detail},
        )
    return redirect("settings")


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def setup(request: ShopRequest) -> HttpResponse:
    """The setup checklist: what is done, what is next; a POST installs the starter set."""
    shop = shop_of(request.user)
    if request.method == "POST":
        installed = install_starter_set(shop=shop)
        if installed.added_anything:
            messages.success(
                request,
                _(
                    "Installed %(scripts)s scripts, %(keywords)s keyword rules (off until you "
                    "turn keyword replies on) and the missing welcome texts."
                )
                % {"scripts": installed.scripts, "keywords": installed.keywords},
            )
        else:
            messages.info(request, _("The starter set was already installed; nothing added."))
        return redirect("setup")
    return render(
        request,
        "accounts/setup.html",
        {"checklist": setup_checklist(shop), "connected": callback_connected(shop)},
    )


def _rate_limits(request: HttpRequest) -> services.RateLimits:
    values: dict[str, int] = {}
    for field in (
        "intake_per_minute",
        "intake_per_buyer_per_minute",
        "widget_messages_per_minute",
        "widget_chats_per_hour",
    ):
        raw = request.POST.get(field, "").strip()
        if not raw:
            continue
        try:
            values[field] = int(raw)
        except ValueError as exc:
            raise ValidationError(_("Each rate limit is a whole number of at least 1.")) from exc
    return services.RateLimits(**values)


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value.strip() else None
    except InvalidOperation as exc:
        raise ValidationError(_("The refund limit must be a number.")) from exc


@shop_view(capability=Capability.MANAGE_AGENTS)
@require_http_methods(["GET", "POST"])
def agents(request: ShopRequest) -> HttpResponse:
    user = request.user
    created: tuple[User, str] | None = None
    errors: list[str] = []
    if request.method == "POST":
        try:
            created = services.create_agent(
                actor=user,
                shop=user.shop,  # type: ignore[arg-type]
                login=request.POST.get("login", ""),
                groups=request.POST.getlist("groups"),
                password=request.POST.get("password") or None,
                display_name=request.POST.get("display_name", ""),
                can_manage_settings=request.POST.get("can_manage_settings") == "on",
                can_issue_refunds=request.POST.get("can_issue_refunds") == "on",
                refund_limit=_decimal(request.POST.get("refund_limit", "")),
                can_create_campaigns=request.POST.get("can_create_campaigns") == "on",
            )
        except ValidationError as exc:
            errors = exc.messages
    return render(
        request,
        "accounts/agents.html",
        {"team": team_of(user).select_related("presence"), "created": created, "errors": errors},
        status=400 if errors else 200,
    )


@shop_view()
@require_POST
def agent_edit(request: ShopRequest, user_id: int) -> HttpResponse:
    user = request.user
    agent = access_member(user, user_id)
    try:
        if request.POST.get("action") in ("disable", "enable"):
            team.set_agent_active(
                actor=user, agent=agent, active=request.POST["action"] == "enable"
            )
        else:
            services.update_agent(
                actor=user,
                agent=agent,
                groups=request.POST.getlist("groups"),
                display_name=request.POST.get("display_name", ""),
                can_manage_settings=request.POST.get("can_manage_settings") == "on",
                can_issue_refunds=request.POST.get("can_issue_refunds") == "on",
                refund_limit=_decimal(request.POST.get("refund_limit", "")),
                can_create_campaigns=request.POST.get("can_create_campaigns") == "on",
            )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("agents")
    messages.success(request, _("Saved."))
    return redirect("agents")


def _days(value: str) -> int:
    try:
        return int(value) if value.strip() else tokens.DEFAULT_DAYS
    except ValueError as exc:
        raise ValidationError(_("The number of days must be a whole number.")) from exc


@shop_view()
@require_http_methods(["GET", "POST"])
def api_tokens(request: ShopRequest) -> HttpResponse:
    """Every login makes and revokes its own personal tokens; the main account sees all."""
    user = request.user
    created: str | None = None
    errors: list[str] = []
    if request.method == "POST":
        try:
            _token, created = tokens.create_api_token(
                user=user,
                name=request.POST.get("name", ""),
                days=_days(request.POST.get("days", "")),
            )
        except ValidationError as exc:
            errors = exc.messages
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": tokens.tokens_visible_to(user),
            "created": created,
            "errors": errors,
            "default_days": tokens.DEFAULT_DAYS,
            "max_days": tokens.MAX_DAYS,
        },
        status=400 if errors else 200,
    )


@shop_view()
@require_POST
def api_token_revoke(request: ShopRequest, token_id: int) -> HttpResponse:
    tokens.revoke_api_token(token=tokens.access_token(request.user, token_id))
    messages.success(request, _("The token is revoked: it no longer opens the API."))
    return redirect("api_tokens")
