"""The buyer's chat widget (/chat/<shop>/): a page a shop embeds on its own site."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import pgettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.models import Shop
from kefu.accounts.selectors import shop_by_slug
from kefu.automation.coupons import BUYER_LANGUAGES, buyer_facing_language
from kefu.automation.selectors import live_keywords, settings_of
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.consumers import WIDGET_COOKIE_SALT, WIDGET_ID_PREFIX, widget_buyer_id
from kefu.conversations.models import Buyer, EntryPoint, Message
from kefu.conversations.selectors import widget_chat_open
from kefu.core.clientip import client_ip
from kefu.core.ratelimit import Limit, Rule, rate_limited
from kefu.desk.intake import receive_buyer_message
from kefu.integrations.channels import Channel
from kefu.outreach import invitations
from kefu.outreach.models import Invitation, OptOut

COOKIE_AGE = 60 * 60 * 24 * 180


def _shop(slug: str) -> Shop:
    shop = shop_by_slug(slug)
    if shop is None:
        raise Http404("no such shop")
    # The buyer reads times in the shop's zone, as the agents do (ShopTimezoneMiddleware
    # ends it with the request).
    timezone.activate(zoneinfo.ZoneInfo(shop.timezone))
    return shop


def _buyer_code(tag: str) -> str:
    """ "ru-RU" -> "ru", "zh-CN" -> "zh-hans": one of the buyer languages, else ""."""
    code = tag.strip().lower()
    code = "zh-hans" if code.startswith("zh") else code[:2]
    return code if code in BUYER_LANGUAGES else ""


def _browser_language(request: HttpRequest) -> str:
    """The first of the buyer languages the browser asks for, by its q-values; else ""."""
    wanted = []
    for position, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = _buyer_code(tag)
        if code and quality > 0:
            wanted.append((-quality, position, code))
    return min(wanted)[2] if wanted else ""


def widget_language(request: HttpRequest, shop: Shop) -> str:
    """The language the widget speaks to this buyer: the language their conversation is in
    (what they wrote, or an agent's correction), else the one the embedding page asks for
    (`?lang=`), else their browser's, else the shop's default."""
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    known = ""
    if buyer_id is not None:
        known = (
            Buyer.objects.filter(shop=shop, external_id=buyer_id)
            .values_list("language", flat=True)
            .first()
        ) or ""
    asked = request.GET.get("lang", "") or request.POST.get("language", "")
    for candidate in (known, asked, _browser_language(request)):
        code = _buyer_code(candidate)
        if code:
            return code
    return buyer_facing_language("", settings_of(shop))


def _speak_to_buyer(request: HttpRequest, shop: Shop) -> None:
    # The interface middleware chose between the workbench's two languages; a buyer gets
    # one of the four (UserLanguageMiddleware deactivates it with the request).
    language = widget_language(request, shop)
    translation.activate(language)
    request.LANGUAGE_CODE = language


def _request_shop(request: HttpRequest, slug: str) -> Shop:
    # The rate-limit rules and the view read the shop once between them; the refusal a rule
    # writes is in the buyer's language too.
    shop = getattr(request, "kefu_widget_shop", None)
    if not isinstance(shop, Shop) or shop.slug != slug:
        shop = _shop(slug)
        _speak_to_buyer(request, shop)
        request.kefu_widget_shop = shop  # type: ignore[attr-defined]
    return shop


def _buyer_key(request: HttpRequest, slug: str) -> str | None:
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    return f"{shop.pk}:{buyer_id}" if buyer_id else None


def _new_chat_key(request: HttpRequest, slug: str) -> str | None:
    """The address, when this message would open a conversation: a fresh cookie per message
    must not be a way around the per-buyer limit."""
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    if buyer_id is None or widget_chat_open(shop=shop, buyer_external_id=buyer_id):
        return None
    return f"{shop.pk}:{client_ip(request)}"


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


BUYER_MESSAGES = Rule(
    scope="widget-buyer",
    key=_buyer_key,
    limit=lambda request, slug: Limit(_request_shop(request, slug).widget_messages_per_minute, 60),
    detail=lambda wait: (
        pgettext(
            "buyer",
            "You are sending messages faster than we can read them. "
            "Please wait %(seconds)d seconds, then send again.",
        )
        % {"seconds": wait}
    ),
)
NEW_CHATS = Rule(
    scope="widget-new-chat",
    key=_new_chat_key,
    limit=lambda request, slug: Limit(_request_shop(request, slug).widget_chats_per_hour, 3600),
    detail=lambda wait: (
        pgettext(
            "buyer",
            "Many chats were started from your network just now. "
            "Please try again in %(minutes)d minutes.",
        )
        % {"minutes": _minutes(wait)}
    ),
)


def _buyer_messages(shop: Shop, buyer_id: str | None, after: int = 0) -> list[Message]:
    if buyer_id is None:
        return []
    return list(
        Message.objects.filter(
            shop=shop,
            buyer__external_id=buyer_id,
            conversation__channel=Channel.WIDGET,
            pk__gt=after,
        )
        .exclude(direction="system")
        .select_related("author")
        .order_by("sent_at", "pk")[:200]
    )


def _question_menu(shop: Shop) -> list[str]:
    """The live keyword set as questions a buyer can pick (R-50); none while keyword replies
    are off, since picking one would then get no answer."""
    if not settings_of(shop).keyword_replies_enabled:
        return []
    return [rule.keyword for rule in live_keywords(shop).rules.values()]


def _refusal(exc: ValidationError) -> str:
    """Why a buyer's message was refused, in their words (the intake says it for sellers)."""
    codes = {getattr(e, "code", None) for e in getattr(exc, "error_list", [])}
    if "empty" in codes:
        return pgettext("buyer", "Please type a message first.")
    if "too_long" in codes:
        return pgettext("buyer", "Your message is too long. Please split it into several messages.")
    return pgettext("buyer", "Your message was not sent. Please try again in a moment.")


@xframe_options_exempt
@require_GET
def chat(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    messages = _buyer_messages(shop, buyer_id)
    product = request.GET.get("product", "")[:80]
    # An invitation only before the buyer has chatted; the widget shows it when its moment
    # comes and asks the server first, which holds the cooling-off period.
    invitation = (
        None
        if messages
        else invitations.invitation_for(shop=shop, visitor=buyer_id, product=product)
    )
    # A first visit gets its widget id now, so the invitation's A/B text is the one the
    # browser keeps on every later page.
    new_id = f"{WIDGET_ID_PREFIX}{uuid.uuid4().hex}" if buyer_id is None else None
    variant = invitations.invitation_variant(invitation, buyer_id or new_id) if invitation else "A"
    response = render(
        request,
        "conversations/widget.html",
        {
            "shop": shop,
            "messages_list": messages,
            "has_identity": buyer_id is not None,
            "questions": _question_menu(shop),
            "today": timezone.localdate(),
            "product": product,
            "invitation": invitation,
            "invitation_text": (
                invitations.invitation_text(invitation, request.LANGUAGE_CODE, variant)
                if invitation
                else ""
            ),
            "invitation_coupon": (
                invitations.coupon_preview(invitation, shop, request.LANGUAGE_CODE)
                if invitation
                else None
            ),
            "opted_out": buyer_id is not None
            and OptOut.objects.filter(shop=shop, buyer__external_id=buyer_id).exists(),
        },
    )
    response["Content-Language"] = request.LANGUAGE_CODE
    if new_id is not None:
        value = signing.get_cookie_signer(salt=WIDGET_COOKIE_SALT + shop.slug).sign(new_id)
        # Framed on the seller's own site the widget is a third party: its cookie must be
        # SameSite=None to be sent there, which browsers allow only with Secure (HTTPS).
        secure = settings.SESSION_COOKIE_SECURE
        response.set_cookie(
            f"kefu_chat_{shop.slug}",
            value,
            max_age=COOKIE_AGE,
            httponly=True,
            secure=secure,
            samesite="None" if secure else "Lax",
        )
    return response


@xframe_options_exempt
@require_POST
@rate_limited(BUYER_MESSAGES, NEW_CHATS)
def send(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    if buyer_id is None:
        return HttpResponse(
            pgettext("buyer", "Please reload the chat to start a conversation."), status=400
        )
    client_id = request.POST.get("client_id", "")[:60]
    try:
        receive_buyer_message(
            shop=shop,
            buyer=BuyerIn(
                external_id=buyer_id,
                name=request.POST.get("name", "").strip()[:120],
                language=request.POST.get("language", "")[:10],
            ),
            text=request.POST.get("text", ""),
            entry_point=EntryPoint.WIDGET,
            channel=Channel.WIDGET,
            external_id=f"{buyer_id}:{client_id}" if client_id else None,
            product_external_id=request.POST.get("product") or None,
        )
    except ValidationError as exc:
        return HttpResponse(_refusal(exc), status=400)
    response = HttpResponse(status=204)
    response["HX-Trigger"] = "kefu:sent"
    return response


@xframe_options_exempt
@require_GET
def messages(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _request_shop(request, slug)
    after = request.GET.get("after", "0")
    return render(
        request,
        "conversations/_widget_messages.html",
        {
            "messages_list": _buyer_messages(
                shop, widget_buyer_id(request.COOKIES, shop), int(after) if after.isdigit() else 0
            ),
            "today": timezone.localdate(),
        },
    )


def _invitation(shop: Shop, invitation_id: int) -> Invitation:
    found = Invitation.objects.filter(shop=shop, pk=invitation_id).first()
    if found is None:
        raise Http404("no such invitation")
    return found


@xframe_options_exempt
@require_POST
@rate_limited(BUYER_MESSAGES)
def invitation_shown(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    """The widget is about to show the invitation: 204 to show it, 409 when this browser saw
    one within the cooling-off period (another tab got there first)."""
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    if buyer_id is None:
        return HttpResponse(status=400)
    try:
        invitations.record_shown(
            shop=shop,
            invitation=_invitation(shop, invitation_id),
            visitor=buyer_id,
            product=request.POST.get("product", ""),
        )
    except ValidationError:
        return HttpResponse(status=409)
    return HttpResponse(status=204)


@xframe_options_exempt
@require_POST
@rate_limited(BUYER_MESSAGES, NEW_CHATS)
def invitation_accept(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    """The buyer accepted: the chat opens with the invitation as the shop's first message."""
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    if buyer_id is None:
        return HttpResponse(
            pgettext("buyer", "Please reload the chat to start a conversation."), status=400
        )
    try:
        invitations.accept_invitation(
            shop=shop,
            invitation=_invitation(shop, invitation_id),
            visitor=buyer_id,
            language=request.LANGUAGE_CODE,
        )
    except ValidationError:
        return HttpResponse(
            pgettext("buyer", "This invitation has expired. Write to us below."), status=409
        )
    response = HttpResponse(status=204)
    response["HX-Trigger"] = "kefu:sent"
    return response


@xframe_options_exempt
@require_POST
@rate_limited(BUYER_MESSAGES)
def opt_out(request: HttpRequest, slug: str) -> HttpResponse:
    """The buyer's "no marketing messages" link: every campaign of the shop leaves them out."""
    shop = _request_shop(request, slug)
    buyer_id = widget_buyer_id(request.COOKIES, shop)
    if buyer_id is None:
        return HttpResponse(
            pgettext("buyer", "Please reload the chat to start a conversation."), status=400
        )
    invitations.opt_out_from_widget(shop=shop, visitor=buyer_id, language=request.LANGUAGE_CODE)
    return HttpResponse(
        pgettext("buyer", "Done: you will get no more marketing messages from us."), status=200
    )
