"""The inbox over the API: what an agent does in the workbench, for integrations."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, JsonResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.accounts.selectors import access_member
from kefu.catalog.selectors import access_product
from kefu.conversations import marks, outbound, selectors, state
from kefu.conversations.media import with_absolute_urls
from kefu.conversations.models import (
    Conversation,
    ConversationMark,
    DeliveryReason,
    Message,
    MessageKind,
    Outbox,
)
from kefu.conversations.presence import set_availability, set_takes_new_chats
from kefu.core.schema_types import ErrorOut
from kefu.desk import marks as desk_marks
from kefu.desk import replies, reply_box

router = Router(auth=shop_auth, tags=["conversations"])


class ConversationOut(Schema):
    id: int
    buyer_external_id: str
    buyer_name: str
    channel: str
    entry_point: str
    group: str
    status: str
    assignee: str | None
    product_external_id: str | None
    order_external_id: str
    unread_count: int
    last_message_at: datetime
    last_message_preview: str

    @staticmethod
    def resolve_buyer_external_id(obj: Conversation) -> str:
        return obj.buyer.external_id

    @staticmethod
    def resolve_buyer_name(obj: Conversation) -> str:
        return obj.buyer.name

    @staticmethod
    def resolve_assignee(obj: Conversation) -> str | None:
        return obj.assignee.username if obj.assignee else None

    @staticmethod
    def resolve_product_external_id(obj: Conversation) -> str | None:
        return obj.product.external_id if obj.product else None


class MessageOut(Schema):
    id: int
    direction: str
    kind: str
    text: str
    # What a card needs beyond the text: a product card's title, price and link; an image's
    # absolute url, width, height and content type.
    payload: dict[str, object]
    author: str | None
    sent_at: datetime
    # pending | delivered | not_delivered (null for the buyer's own messages and history)
    delivery: str | None
    # no_callback_url | refused | gave_up when not delivered
    delivery_reason: str | None
    # the reason as a seller reads it, in the request's language
    delivery_detail: str | None

    @staticmethod
    def resolve_payload(obj: Message) -> dict[str, object]:
        if obj.kind == MessageKind.PRODUCT_CARD:
            card: dict[str, object] = obj.payload
            return card
        if obj.kind == MessageKind.IMAGE:
            return {"image": with_absolute_urls(obj.payload).get("image", {})}
        return {}

    @staticmethod
    def resolve_author(obj: Message) -> str | None:
        return obj.author.username if obj.author else None

    @staticmethod
    def _outbox(obj: Message) -> Outbox | None:
        return getattr(obj, "outbox", None) if obj.direction != "buyer" else None

    @staticmethod
    def resolve_delivery(obj: Message) -> str | None:
        outbox = MessageOut._outbox(obj)
        return outbox.status if outbox else None

    @staticmethod
    def resolve_delivery_reason(obj: Message) -> str | None:
        outbox = MessageOut._outbox(obj)
        return outbox.reason if outbox and outbox.reason else None

    @staticmethod
    def resolve_delivery_detail(obj: Message) -> str | None:
        outbox = MessageOut._outbox(obj)
        if not outbox or outbox.reason not in DeliveryReason.values:
            return None
        return str(DeliveryReason(outbox.reason).label)


class ListQuery(Schema):
    view: str = Field(default="all", pattern="^(mine|group|all|unassigned)$")
    status: str = Field(default="active", pattern="^(active|open|pending|resolved|any)$")
    q: str = Field(default="", max_length=100)
    # "not_delivered": only conversations with a message that did not reach the buyer
    delivery: str = Field(default="", pattern="^(not_delivered)?$")
    limit: int = Field(default=50, ge=1, le=200)


class ReplyIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    confirm_warnings: bool = False
    script_variant_id: int | None = None


class ProductCardIn(Schema):
    product_external_id: str = Field(min_length=1, max_length=80)
    confirm_warnings: bool = False


class RuleStopOut(Schema):
    detail: str
    verdict: dict[str, object]


class AssignIn(Schema):
    agent_id: int


class PresenceIn(Schema):
    status: str | None = Field(default=None, pattern="^(available|away)$")
    takes_new_chats: bool | None = Field(
        default=None, description="whether routing gives this login new chats"
    )


@router.get("", response=list[ConversationOut])
def list_conversations(request: HttpRequest, params: Query[ListQuery]) -> list[Conversation]:
    user = api_user(request)
    flt = selectors.InboxFilter(
        view=params.view,
        status=params.status,
        query=params.q,
        undelivered=params.delivery == "not_delivered",
    )
    return list(selectors.inbox(user, flt, limit=params.limit))


@router.post("/presence", response={204: None})
def presence(request: HttpRequest, body: PresenceIn) -> Status[None]:
    user = api_user(request)
    if body.status is not None:
        set_availability(user=user, status=body.status)
    if body.takes_new_chats is not None:
        set_takes_new_chats(user=user, takes=body.takes_new_chats)
    return Status(204, None)


class MarkIn(Schema):
    color: str = Field(pattern="^(yellow|blue|green|red|purple|label)$")
    note: str = Field(default="", max_length=300)
    label: str = Field(default="", max_length=40)
    product_id: int | None = None
    defect: str = Field(default="", max_length=300)
    amount: str | None = None
    currency: str = Field(default="", max_length=3)
    channel: str = Field(default="", max_length=10)


class MarkOut(Schema):
    id: int
    color: str
    label: str
    note: str
    data: dict[str, object]
    duty_done: bool
    active: bool

    @staticmethod
    def resolve_duty_done(obj: ConversationMark) -> bool:
        return obj.duty_done_at is not None

    @staticmethod
    def resolve_active(obj: ConversationMark) -> bool:
        return obj.cleared_at is None


class TrackingIn(Schema):
    tracking_number: str = Field(min_length=1, max_length=80)
    carrier: str = Field(default="", max_length=80)
    text: str = Field(min_length=1, max_length=10_000)


def _access_mark(request: HttpRequest, conversation_id: int, mark_id: int) -> ConversationMark:
    conv = selectors.access_conversation(api_user(request), conversation_id)
    mark = conv.marks.filter(pk=mark_id).first()
    if mark is None:
        raise HttpError(404, "no such mark")
    return mark


@router.get("/{conversation_id}/marks", response=list[MarkOut])
def list_marks(request: HttpRequest, conversation_id: int) -> list[ConversationMark]:
    conv = selectors.access_conversation(api_user(request), conversation_id)
    return list(marks.active_marks(conv))


@router.post("/{conversation_id}/marks", response={201: MarkOut})
def add_mark(request: HttpRequest, conversation_id: int, body: MarkIn) -> Status[ConversationMark]:
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    mark = desk_marks.add_mark(actor=user, conversation=conv, **body.dict())
    return Status(201, mark)


@router.post("/{conversation_id}/marks/{mark_id}/tracking", response=MarkOut)
def mark_tracking(
    request: HttpRequest, conversation_id: int, mark_id: int, body: TrackingIn
) -> ConversationMark:
    mark = _access_mark(request, conversation_id, mark_id)
    desk_marks.send_new_tracking(actor=api_user(request), mark=mark, **body.dict())
    return mark


@router.post("/{conversation_id}/marks/{mark_id}/clear", response=MarkOut)
def clear_mark(request: HttpRequest, conversation_id: int, mark_id: int) -> ConversationMark:
    mark = _access_mark(request, conversation_id, mark_id)
    marks.clear_mark(actor=api_user(request), mark=mark)
    return mark


SUGGESTIONS_OFF = "script suggestions are switched off in the shop's automation settings"


# Not `SuggestionOut`: the automation API has one of that name and a different shape, and
# the schema knows each model by its class name.
class ScriptOfferOut(Schema):
    script_id: int
    variant_id: int
    title: str
    reason: str
    language: str
    text: str
    gaps: list[str]


@router.get("/{conversation_id}/suggestions", response={200: list[ScriptOfferOut], 409: ErrorOut})
def suggestions(request: HttpRequest, conversation_id: int) -> list[ScriptOfferOut]:
    """Scripts for the buyer's latest message, placeholders filled; send with the variant id
    as `script_variant_id` to have the use measured. 409 when the owner switched script
    suggestions off."""
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    if not reply_box.suggestions_enabled(conv):
        raise HttpError(409, SUGGESTIONS_OFF)
    offers, _ = reply_box.script_offers(user, conv)
    return [
        ScriptOfferOut(
            script_id=o.script_id,
            variant_id=o.variant_id,
            title=o.title,
            reason=o.reason,
            language=o.language,
            text=o.rendered.text,
            gaps=[g.marker for g in o.rendered.gaps],
        )
        for o in offers
    ]


@router.get("/{conversation_id}", response=ConversationOut)
def get_conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return selectors.access_conversation(api_user(request), conversation_id)


@router.get("/{conversation_id}/messages", response=list[MessageOut])
def list_messages(request: HttpRequest, conversation_id: int, after: int = 0) -> list[Message]:
    conv = selectors.access_conversation(api_user(request), conversation_id)
    return list(selectors.timeline(conv, after_id=after))


@router.post(
    "/{conversation_id}/replies", response={201: MessageOut, 409: RuleStopOut, 422: RuleStopOut}
)
def reply(
    request: HttpRequest, conversation_id: int, body: ReplyIn
) -> Status[Message] | JsonResponse:
    """409: warnings to confirm (send again with `confirm_warnings`); 422: blocked by a rule."""
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    try:
        message = replies.send_reply(
            actor=user,
            conversation=conv,
            text=body.text,
            confirm_warnings=body.confirm_warnings,
            script_variant_id=body.script_variant_id,
            suggested=body.script_variant_id is not None,
        )
    except replies.RuleStop as stop:
        return _rule_stop(stop)
    return Status(201, message)


@router.post(
    "/{conversation_id}/images", response={201: MessageOut, 409: RuleStopOut, 422: RuleStopOut}
)
def image_reply(
    request: HttpRequest,
    conversation_id: int,
    image: File[UploadedFile],
    caption: Form[str] = "",
    confirm_warnings: Form[bool] = False,
) -> Status[Message] | JsonResponse:
    """Send an image (multipart: `image`, optional `caption`). JPEG, PNG, WebP or GIF up to
    the size limit; it is re-encoded without metadata. 400: not such an image; 409/422: the
    rule guard on the caption."""
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    try:
        message = replies.send_image_reply(
            actor=user,
            conversation=conv,
            image=image,
            caption=caption,
            confirm_warnings=confirm_warnings,
        )
    except replies.RuleStop as stop:
        return _rule_stop(stop)
    return Status(201, message)


@router.post("/{conversation_id}/messages/{message_id}/retry", response=MessageOut)
def retry_delivery(request: HttpRequest, conversation_id: int, message_id: int) -> Message:
    """Send a message that was not delivered again. 400 while it is not `not_delivered`, or
    while a marketplace message still has no callback URL to go to."""
    user = api_user(request)
    message = selectors.access_message(user, conversation_id, message_id)
    outbound.retry_delivery(actor=user, message=message)
    return selectors.access_message(user, conversation_id, message_id)


def _rule_stop(stop: replies.RuleStop) -> JsonResponse:
    """409: warnings to confirm; 422: blocked by a rule."""
    return JsonResponse(
        {"detail": stop.messages[0], "verdict": stop.verdict.as_dict()},
        status=409 if stop.needs_confirmation else 422,
    )


@router.post(
    "/{conversation_id}/product-cards",
    response={201: MessageOut, 409: RuleStopOut, 422: RuleStopOut},
)
def product_card(
    request: HttpRequest, conversation_id: int, body: ProductCardIn
) -> Status[Message] | JsonResponse:
    """Send one of the shop's products to the buyer as a product card (R-21).

    404: unknown conversation or product; 409/422: the rule guard, as for replies.
    """
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    product = access_product(user, body.product_external_id)
    try:
        message = replies.send_product_card(
            actor=user,
            conversation=conv,
            product=product,
            confirm_warnings=body.confirm_warnings,
        )
    except replies.RuleStop as stop:
        return _rule_stop(stop)
    return Status(201, message)


@router.post("/{conversation_id}/read", response=ConversationOut)
def read(request: HttpRequest, conversation_id: int) -> Conversation:
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    state.mark_read(actor=user, conversation=conv)
    return conv


@router.post("/{conversation_id}/resolve", response=ConversationOut)
def resolve(request: HttpRequest, conversation_id: int) -> Conversation:
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    state.resolve_conversation(actor=user, conversation=conv)
    return selectors.access_conversation(user, conversation_id)


@router.post("/{conversation_id}/reopen", response=ConversationOut)
def reopen(request: HttpRequest, conversation_id: int) -> Conversation:
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    state.reopen_conversation(actor=user, conversation=conv)
    return selectors.access_conversation(user, conversation_id)


@router.post("/{conversation_id}/assign", response=ConversationOut)
def assign(request: HttpRequest, conversation_id: int, body: AssignIn) -> Conversation:
    user = api_user(request)
    conv = selectors.access_conversation(user, conversation_id)
    agent = access_member(user, body.agent_id)
    state.assign_conversation(actor=user, conversation=conv, agent=agent)
    return selectors.access_conversation(user, conversation_id)
