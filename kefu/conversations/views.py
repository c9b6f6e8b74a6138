"""Workbench pages: thin — parse, authorise through selectors, call one service, render."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST, require_safe

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.accounts.selectors import access_member, team_of
from kefu.automation.buyer_language import set_buyer_language
from kefu.automation.selectors import quick_replies_of
from kefu.care import selectors as care_selectors
from kefu.catalog.models import Product
from kefu.catalog.selectors import access_product
from kefu.conversations import marks, media, outbound, selectors, state
from kefu.conversations.models import Conversation, MarkColor
from kefu.conversations.presence import set_availability, set_takes_new_chats
from kefu.desk import replies, reply_box
from kefu.desk.setup import setup_checklist
from kefu.outreach import idle


def _filter(request: HttpRequest, user: User) -> selectors.InboxFilter:
    default_view = "all" if user.is_owner else "mine"
    view = request.GET.get("view", default_view)
    if view not in ("mine", "group", "all", "unassigned"):
        view = default_view
    return selectors.InboxFilter(
        view=view,
        status=request.GET.get("status", "active"),
        query=request.GET.get("q", "")[:100],
        mark=request.GET.get("mark", "") if request.GET.get("mark") in MarkColor.values else "",
        undelivered=request.GET.get("delivery") == "not_delivered",
    )


def _orders_sidebar_url(conv: Conversation) -> str | None:
    try:
        base = reverse("orders_sidebar", args=[conv.buyer_id])
    except NoReverseMatch:
        return None
    return f"{base}?conversation={conv.pk}&highlight={conv.order_external_id}"


def _conversation_context(user: User, conv: Conversation) -> dict[str, Any]:
    messages = selectors.timeline(conv)
    return {
        "conv": conv,
        "messages_list": messages,
        "last_message_id": messages[-1].pk if messages else 0,
        "events": selectors.events_of(conv),
        "history": selectors.buyer_history(conv, user),
        # Each colleague with where they are, so the owner sees who would actually answer.
        "team": [
            (m, selectors.agent_state(m))
            for m in team_of(user)
            if m.is_active and m.in_group(conv.group)
        ]
        if user.is_owner
        else [],
        "orders_sidebar_url": _orders_sidebar_url(conv),
        "blockers": state.resolution_blockers(conv),
        "marks": marks.active_marks(conv),
        "buyer_languages": [
            ("en", "English"),
            ("ru", "Русский"),
            ("es", "Español"),
            ("zh-hans", "中文"),
        ],
        "language_override": reply_box.language_override(conv),
        "mark_colors": MarkColor.choices,
    }


@shop_view()
@require_GET
def inbox(request: ShopRequest, conversation_id: int | None = None) -> HttpResponse:
    user = request.user
    flt = _filter(request, user)
    context: dict[str, Any] = {
        "filter": flt,
        "conversations": selectors.inbox(user, flt),
        "counts": selectors.inbox_counts(user),
        "query_string": request.GET.urlencode(),
        "mark_choices": MarkColor.choices,
        "conv": None,
        "me": selectors.agent_state(user),
        # Outreach agents, while no buyer waits on their group: their queues come first.
        "idle_queues": idle.idle_queues(user),
    }
    if conversation_id is not None:
        conv = selectors.access_conversation(user, conversation_id)
        context |= _conversation_context(user, conv)
    elif has_capability(user, Capability.MANAGE_SETTINGS):
        # The owner's home: what the shop still lacks before buyers are answered well.
        context["setup"] = setup_checklist(shop_of(user))
    return render(request, "conversations/inbox.html", context)


@shop_view()
@require_GET
def inbox_list(request: ShopRequest) -> HttpResponse:
    user = request.user
    flt = _filter(request, user)
    current = request.GET.get("current")
    return render(
        request,
        "conversations/_list.html",
        {
            "filter": flt,
            "conversations": selectors.inbox(user, flt),
            "counts": selectors.inbox_counts(user),
            "current_id": int(current) if current and current.isdigit() else None,
            "mark_choices": MarkColor.choices,
            "query_string": request.GET.urlencode(),
        },
    )


@shop_view()
@require_GET
def conversation_messages(request: ShopRequest, conversation_id: int) -> HttpResponse:
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    after = request.GET.get("after", "0")
    return render(
        request,
        "conversations/_messages.html",
        {"messages_list": selectors.timeline(conv, after_id=int(after) if after.isdigit() else 0)},
    )


@shop_view()
@require_POST
def conversation_read(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """The page tells us the agent has the conversation in front of them (a GET never writes)."""
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    state.mark_read(actor=user, conversation=conv)
    return HttpResponse(status=204)


@shop_view()
@require_GET
def conversation_timeline(request: ShopRequest, conversation_id: int) -> HttpResponse:
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    return render(request, "conversations/_events.html", {"events": selectors.events_of(conv)})


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@shop_view()
@require_GET
def reply_tools(request: ShopRequest, conversation_id: int) -> HttpResponse:
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    offers, facts = reply_box.script_offers(user, conv)
    # The agent's latest reply promised something with a time: offer to track it.
    promise = care_selectors.promise_offer(user, conv)

    return render(
        request,
        "conversations/_reply_tools.html",
        {
            "promise_offer": promise,
            "offers": offers,
            "suggestions_on": reply_box.suggestions_enabled(conv),
            "facts": facts,
            "quick_replies": quick_replies_of(user)[:12],
            "conv": conv,
        },
    )


def _error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    response = render(request, "conversations/_error.html", {"error": message}, status=status)
    response["HX-Retarget"] = "#action-error"
    response["HX-Reswap"] = "innerHTML"
    return response


@shop_view()
@require_POST
def reply(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """A text reply, or an image with an optional caption when the agent attached one."""
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    image = request.FILES.get("image")
    try:
        if image is not None:
            replies.send_image_reply(
                actor=user,
                conversation=conv,
                image=image,
                caption=request.POST.get("text", ""),
                confirm_warnings=request.POST.get("confirm_warnings") == "1",
            )
        else:
            replies.send_reply(
                actor=user,
                conversation=conv,
                text=request.POST.get("text", ""),
                confirm_warnings=request.POST.get("confirm_warnings") == "1",
                script_variant_id=_int(request.POST.get("script_variant")),
                suggested=request.POST.get("suggested") == "1",
            )
    except replies.RuleStop as stop:
        return _rule_stop(request, conv, stop)
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return _sent(request, conv.pk, "kefu:sent")


@shop_view()
@require_POST
def reply_check(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """The rule guard's verdict on the draft in the reply box, shown while the agent types.

    POST because the draft may be long; nothing is stored or recorded."""
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    verdict = replies.check_draft(actor=user, conversation=conv, text=request.POST.get("text", ""))
    return render(
        request,
        "conversations/_draft_verdict.html",
        {
            "verdict": verdict,
            "findings": verdict.findings if verdict else (),
            "zh": get_language() == "zh-hans",
        },
    )


@shop_view()
@require_POST
def retry_delivery(request: ShopRequest, conversation_id: int, message_id: int) -> HttpResponse:
    """Send a message that was not delivered again (after the marketplace was connected)."""
    user = request.user
    message = selectors.access_message(user, conversation_id, message_id)
    try:
        outbound.retry_delivery(actor=user, message=message)
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conversation_id)


@require_safe  # GET, and HEAD for a channel checking the link before it fetches
def media_file(request: HttpRequest, token: str, extension: str) -> HttpResponse:
    """An image the shop sent, for buyers' channels: no login, the random token is the key."""
    stored = media.served_file(token=token, extension=extension)
    if stored is None:
        raise Http404("no such image")
    path = media.media_path(stored)
    if not path.exists():
        raise Http404("no such image")
    # At most a few MB: read whole, so the ASGI server is not handed a synchronous iterator.
    response = HttpResponse(path.read_bytes(), content_type=stored.content_type)
    # The address never changes content: caches and marketplaces may keep it for good.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{stored.filename}"'
    return response


@shop_view()
@require_POST
def product_card(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """Send a suggested product from the sidebar to the buyer as a product card (R-21)."""
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    product = access_product(user, request.POST.get("product", ""))
    try:
        replies.send_product_card(
            actor=user,
            conversation=conv,
            product=product,
            confirm_warnings=request.POST.get("confirm_warnings") == "1",
        )
    except replies.RuleStop as stop:
        return _rule_stop(request, conv, stop, card_product=product)
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    # Its own event, not kefu:sent: a card must not wipe the reply the agent is drafting.
    return _sent(request, conv.pk, "kefu:card-sent")


def _rule_stop(
    request: HttpRequest,
    conv: Conversation,
    stop: replies.RuleStop,
    *,
    card_product: Product | None = None,
) -> HttpResponse:
    """The rule guard's findings in the error slot; a warning offers to send anyway."""
    response = render(
        request,
        "conversations/_guard.html",
        {
            "stop": stop,
            "findings": stop.verdict.findings,
            "conv": conv,
            "card_product": card_product,
            "zh": get_language() == "zh-hans",
        },
        status=409 if stop.needs_confirmation else 422,
    )
    response["HX-Retarget"] = "#action-error"
    response["HX-Reswap"] = "innerHTML"
    return response


def _sent(request: HttpRequest, conversation_id: int, trigger: str) -> HttpResponse:
    """After a message went out: htmx refreshes the timeline in place, a plain form redirects."""
    if request.htmx:  # type: ignore[attr-defined]
        response = HttpResponse(status=204)
        response["HX-Trigger"] = trigger
        return response
    return back_to_conversation(request, conversation_id)


def _state_change(request: ShopRequest, conversation_id: int, action: str) -> HttpResponse:
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    try:
        if action == "resolve":
            state.resolve_conversation(actor=user, conversation=conv)
        elif action == "reopen":
            state.reopen_conversation(actor=user, conversation=conv)
        elif action == "assign":
            agent_id = request.POST.get("agent", "")
            agent = access_member(user, int(agent_id)) if agent_id.isdigit() else user
            state.assign_conversation(actor=user, conversation=conv, agent=agent)
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conv.pk)


@shop_view()
@require_POST
def resolve(request: ShopRequest, conversation_id: int) -> HttpResponse:
    return _state_change(request, conversation_id, "resolve")


@shop_view()
@require_POST
def reopen(request: ShopRequest, conversation_id: int) -> HttpResponse:
    return _state_change(request, conversation_id, "reopen")


@shop_view()
@require_POST
def assign(request: ShopRequest, conversation_id: int) -> HttpResponse:
    return _state_change(request, conversation_id, "assign")


@shop_view()
@require_POST
def buyer_language(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """The agent corrects the buyer's language (R-11); empty goes back to detection."""
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    try:
        set_buyer_language(actor=user, buyer=conv.buyer, language=request.POST.get("language", ""))
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conv.pk)


def back_to_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """After an action: htmx reloads the conversation page, a plain form is redirected."""
    target = reverse("conversation", args=[conversation_id])
    if request.htmx:  # type: ignore[attr-defined]
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@shop_view()
@require_POST
def presence(request: ShopRequest) -> HttpResponse:
    user = request.user
    try:
        if "status" in request.POST:
            set_availability(user=user, status=request.POST.get("status", ""))
        if "takes_new_chats" in request.POST:
            set_takes_new_chats(user=user, takes=request.POST["takes_new_chats"] == "1")
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    next_url = request.POST.get("next", "")
    return redirect(next_url if next_url.startswith("/inbox") else "inbox")
