"""Consultation invitations (R-38) and the widget's opt-out, through the seller's and the
buyer's paths: the owner saves an invitation, the widget (Django's client holding the
widget cookie) shows and accepts it, orders arrive by the signed order webhook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from kefu.conversations.models import Channel, ConversationEvent, Message, MessageKind
from kefu.outreach import invitations, services
from kefu.outreach.invitations import InvitationInput
from kefu.outreach.models import Invitation, InvitationDisplay, OptOut, Recipient
from kefu.outreach.selectors import SegmentFilters
from tests.helpers import add_product, post_order_signed

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def invite(owner, **over):
    fields = {
        "name": "Lamp page",
        "texts": {"en": "Questions about this lamp? Ask us!", "ru": "Есть вопросы о лампе?"},
        "delay_seconds": 5,
        "cooling_off_hours": 24,
    } | over
    return invitations.save_invitation(actor=owner, data=InvitationInput(**fields))


def widget(lang: str = "en") -> Client:
    return Client(headers={"accept-language": lang})


def order_webhook(shop, ext: str, buyer: str, placed: dt.datetime, amount: str = "40.00"):
    response = post_order_signed(
        "/inbound",
        {
            "external_id": ext,
            "buyer": {"external_id": buyer},
            "status": "paid",
            "currency": "USD",
            "total_amount": amount,
            "paid_amount": amount,
            "placed_at": placed.isoformat(),
            "paid_at": placed.isoformat(),
        },
        shop,
    )
    assert response.status_code in (200, 201), response.content


def test_an_invitation_breaking_a_rule_is_not_saved(shop, owner):
    with pytest.raises(ValidationError):
        invite(owner, texts={"en": "Hi!", "zh": "加我微信私下交易，给你好评返现"})
    with pytest.raises(ValidationError):
        invite(owner, placement="products", products=())
    with pytest.raises(ValidationError):
        invite(owner, coupon_code="SAVE5", coupon_value=Decimal("5"), coupon_currency="USD")
    assert not Invitation.objects.exists()


def test_shown_once_per_cooling_off_accepted_and_converted(shop, owner):
    add_product(shop, "P-1", "Desk lamp")
    invitation = invite(
        owner,
        coupon_code="HELLO5",
        coupon_value=Decimal("5"),
        coupon_currency="USD",
        coupon_valid_until=dt.date(2030, 12, 31),
    )
    buyer = widget()
    page = buyer.get("/chat/aurora/?product=P-1").content.decode()
    assert "Questions about this lamp? Ask us!" in page
    assert "HELLO5" in page
    # Not on a page that is not a product page (the placement is product pages).
    assert "Questions about this lamp" not in buyer.get("/chat/aurora/").content.decode()

    shown = f"/chat/aurora/invitations/{invitation.pk}/shown/"
    assert buyer.post(shown, {"product": "P-1"}).status_code == 204
    # A second tab, or the page opened again: the cooling-off period holds.
    assert buyer.post(shown, {"product": "P-1"}).status_code == 409
    assert (
        "Questions about this lamp" not in buyer.get("/chat/aurora/?product=P-1").content.decode()
    )
    # Another browser is another buyer.
    other = widget()
    other.get("/chat/aurora/?product=P-1")
    assert other.post(shown, {"product": "P-1"}).status_code == 204

    accepted = buyer.post(f"/chat/aurora/invitations/{invitation.pk}/accept/")
    assert accepted.status_code == 204
    display = InvitationDisplay.objects.get(accepted_at__isnull=False)
    conv = display.conversation
    assert conv.channel == Channel.WIDGET and conv.buyer == display.buyer
    first = Message.objects.get(conversation=conv)
    assert first.kind == MessageKind.COUPON and first.payload["coupon"]["code"] == "HELLO5"
    assert first.payload["invitation_id"] == invitation.pk
    assert ConversationEvent.objects.filter(conversation=conv, data__reason="invitation").exists()
    # The buyer's first words join the conversation the invitation opened.
    assert buyer.post("/chat/aurora/send/", {"text": "Is it dimmable?"}).status_code == 204
    assert Message.objects.filter(conversation=conv, text="Is it dimmable?").exists()
    assert "Questions about this lamp" in buyer.get("/chat/aurora/messages/").content.decode()

    accepted_at = display.accepted_at
    visitor = display.buyer.external_id
    order_webhook(shop, "W-1", visitor, accepted_at + dt.timedelta(hours=3))
    order_webhook(shop, "W-2", visitor, accepted_at + dt.timedelta(hours=49))  # too late
    order_webhook(shop, "W-3", visitor, accepted_at - dt.timedelta(hours=1))  # before
    figures = invitations.invitation_figures([invitation])[invitation.pk]
    assert (figures.shown, figures.accepted, figures.converted) == (2, 1, 1)
    assert (figures.orders, figures.gmv) == (1, Decimal("40.00"))

    page = Client()
    page.force_login(owner)
    body = page.get("/outreach/invitations/").content.decode()
    assert '<td class="shown">2</td><td class="accepted">1</td><td class="converted">1</td>' in body


def test_chosen_products_only_and_switched_off_shows_nothing(shop, owner):
    invitation = invite(owner, placement="products", products=("P-7",))
    buyer = widget()
    assert "Questions about" not in buyer.get("/chat/aurora/?product=P-8").content.decode()
    assert "Questions about" in buyer.get("/chat/aurora/?product=P-7").content.decode()
    shown = f"/chat/aurora/invitations/{invitation.pk}/shown/"
    assert buyer.post(shown, {"product": "P-8"}).status_code == 409
    invitations.switch_invitation(actor=owner, invitation=invitation, active=False)
    assert "Questions about" not in buyer.get("/chat/aurora/?product=P-7").content.decode()
    assert buyer.post(shown, {"product": "P-7"}).status_code == 409
    # Accepting what was never shown opens nothing.
    assert buyer.post(f"/chat/aurora/invitations/{invitation.pk}/accept/").status_code == 409
    assert not InvitationDisplay.objects.exists()


def test_an_exit_intent_invitation_on_all_pages_speaks_the_buyers_language(shop, owner):
    invite(owner, trigger="exit", placement="all_pages")
    page = widget("ru").get("/chat/aurora/").content.decode()
    assert 'data-trigger="exit"' in page
    assert "Есть вопросы о лампе?" in page


@pytest.mark.parametrize(
    ("lang", "text", "link", "done"),
    [
        (
            "en",
            "Hello, is the lamp in stock?",
            "No marketing messages, please",
            "no more marketing",
        ),
        ("zh-CN", "你好，台灯有货吗？", "请勿向我发送营销消息", "不会再收到"),
        ("ru", "Здравствуйте, лампа есть?", "Не присылайте мне рекламу", "больше не будете"),
        ("es", "Hola, ¿tienen la lámpara?", "No quiero mensajes promocionales", "ya no recibirá"),
    ],
)
def test_the_widget_opt_out_stops_every_campaign(shop, owner, lang, text, link, done):
    buyer = widget(lang)
    assert link in buyer.get("/chat/aurora/").content.decode()
    assert buyer.post("/chat/aurora/send/", {"text": text}).status_code == 204
    response = buyer.post("/chat/aurora/opt-out/")
    assert response.status_code == 200 and done in response.content.decode()
    opted = OptOut.objects.get()
    assert opted.buyer.external_id.startswith("w-")
    segment = services.save_segment(
        actor=owner,
        name="chatted",
        filters=SegmentFilters.from_json({"contacted_within_days": "3"}),
    )
    campaign = services.create_campaign(
        actor=owner,
        name="Double 11",
        segment=segment,
        texts={"en": "Double 11 at {shop}!"},
        language_order=["en"],
        starts_at=timezone.now() - dt.timedelta(minutes=1),
        window_start=0,
        window_end=24,
    )
    assert services.send_campaign_step(campaign=campaign) == 0
    assert not Recipient.objects.exists()
    assert link not in buyer.get("/chat/aurora/").content.decode()


def test_ab_invitation_split_per_browser_measured_and_compared(shop, owner):
    add_product(shop, "P-1", "Desk lamp")
    with pytest.raises(ValidationError):  # B needs A's languages, every one of them
        invite(owner, name="Half", texts_b={"en": "Chat with us about this lamp!"})
    with pytest.raises(ValidationError):  # B passes the rule guard like A
        invite(owner, name="Bad B", texts={"en": "Ask us!"}, texts_b={"en": "加我微信私下交易"})
    invitation = invite(
        owner,
        texts={"en": "Questions? Ask us (A)"},
        texts_b={"en": "Chat with us now (B)"},
    )
    seen = {"A": 0, "B": 0}
    browsers = []
    for n in range(40):
        # Forty buyers on forty addresses (the widget limits new chats per address).
        browser = Client(headers={"accept-language": "en"}, REMOTE_ADDR=f"10.1.0.{n + 1}")
        first = browser.get("/chat/aurora/?product=P-1").content.decode()
        variant = "B" if "Chat with us now (B)" in first else "A"
        assert ("Questions? Ask us (A)" in first) == (variant == "A")
        # The same browser keeps its text on the next page.
        again = browser.get("/chat/aurora/?product=P-1").content.decode()
        assert ("Chat with us now (B)" in again) == (variant == "B")
        assert (
            browser.post(
                f"/chat/aurora/invitations/{invitation.pk}/shown/", {"product": "P-1"}
            ).status_code
            == 204
        )
        seen[variant] += 1
        browsers.append((browser, variant))
    assert min(seen.values()) >= 8  # random halves, not everyone in one
    displays = InvitationDisplay.objects.filter(invitation=invitation)
    assert {d.variant for d in displays} == {"A", "B"}
    # Every B browser accepts, no A browser does; one B buyer orders within 48 h.
    for browser, variant in browsers:
        if variant == "B":
            assert (
                browser.post(f"/chat/aurora/invitations/{invitation.pk}/accept/").status_code == 204
            )
    accepted = displays.filter(accepted_at__isnull=False)
    assert {d.variant for d in accepted} == {"B"}
    first_message = Message.objects.filter(conversation=accepted.first().conversation).get()
    assert first_message.text == "Chat with us now (B)" and first_message.payload["variant"] == "B"
    one = accepted.first()
    order_webhook(shop, "AB-1", one.buyer.external_id, one.accepted_at + dt.timedelta(hours=2))

    figures = invitations.invitation_figures([invitation])[invitation.pk]
    by_variant = {v.variant: v for v in figures.variants}
    assert (by_variant["A"].shown, by_variant["A"].accepted, by_variant["A"].converted) == (
        seen["A"],
        0,
        0,
    )
    assert (by_variant["B"].shown, by_variant["B"].accepted, by_variant["B"].converted) == (
        seen["B"],
        seen["B"],
        1,
    )
    assert (figures.shown, figures.accepted, figures.converted) == (40, seen["B"], 1)
    comparisons = {c.measure: c for c in figures.comparisons}
    assert set(comparisons) == {"accepted", "converted"}
    # Everyone against no one: far more than noise; one order against none: within it.
    assert comparisons["accepted"].more_than_noise and comparisons["accepted"].difference == 1.0
    assert not comparisons["converted"].more_than_noise

    page = Client()
    page.force_login(owner)
    body = page.get("/outreach/invitations/").content.decode()
    assert f'data-invitation-ab="{invitation.pk}"' in body
    assert f'data-variant="B" data-figures="{seen["B"]}/{seen["B"]}/1"' in body
    assert f'data-variant="A" data-figures="{seen["A"]}/0/0"' in body
    assert 'data-measure="accepted" data-more-than-noise="1"' in body
    assert 'data-measure="converted" data-more-than-noise="0"' in body


def test_an_invitation_without_a_second_text_has_no_ab(shop, owner):
    invitation = invite(owner)
    browser = widget()
    browser.get("/chat/aurora/?product=P-9")
    browser.post(f"/chat/aurora/invitations/{invitation.pk}/shown/", {"product": "P-9"})
    figures = invitations.invitation_figures([invitation])[invitation.pk]
    assert [(v.variant, v.shown) for v in figures.variants] == [("A", 1)]
    assert figures.comparisons == ()
