import datetime as dt

import pytest
import time_machine

from kefu.compliance.models import ComplianceFinding
from kefu.compliance.scanner import CheckContext, check_text
from kefu.compliance.services import (
    ComplianceBlocked,
    check_outgoing,
    context_for_shop,
    ensure_saveable,
    record_override,
)
from tests.helpers import add_product

pytestmark = pytest.mark.django_db


def test_context_for_shop_takes_platform_and_product(shop, product, other_shop):
    ctx = context_for_shop(shop)
    assert ctx.platform == "aliexpress"
    assert ctx.free_shipping is False
    assert ctx.stock_available is None
    assert ctx.recipient_is_paying_buyer is None
    ctx = context_for_shop(shop, product=product, recipient_is_paying_buyer=False)
    assert ctx.free_shipping is True
    assert ctx.stock_available is True
    assert ctx.recipient_is_paying_buyer is False
    product.stock = 0
    assert context_for_shop(shop, product=product).stock_available is False
    assert context_for_shop(shop, product=product, free_shipping=False).free_shipping is False
    foreign = add_product(other_shop, "X", "x")
    with pytest.raises(ValueError, match="another shop"):
        context_for_shop(shop, product=foreign)


def test_check_outgoing_records_each_finding(shop, pre_agent):
    ctx = context_for_shop(shop, free_shipping=True)
    verdict = check_outgoing(
        shop=shop,
        actor=pre_agent,
        text="Add me on WhatsApp, and remote areas pay extra postage.",
        context=ctx,
        source="reply",
        conversation_id=41,
    )
    assert verdict.verdict == "block"
    rows = list(ComplianceFinding.objects.order_by("code"))
    assert [r.code for r in rows] == ["free_shipping", "off_platform"]
    assert all(r.blocked and not r.overridden for r in rows)
    assert {r.conversation_id for r in rows} == {41}
    assert rows[1].excerpt == "Add me on WhatsApp"
    assert rows[1].requirement == "R-27"
    assert rows[0].excerpt == "remote areas pay extra postage"
    assert rows[1].pack_version == "aliexpress-2026.1"
    assert rows[1].actor == pre_agent


def test_ok_text_records_nothing(shop, pre_agent):
    verdict = check_outgoing(
        shop=shop,
        actor=pre_agent,
        text="It ships within 48 hours.",
        context=context_for_shop(shop, stock_available=True),
        source="reply",
    )
    assert verdict.verdict == "ok"
    assert not ComplianceFinding.objects.exists()


def test_privacy_excerpt_masks_digits(shop, pre_agent):
    check_outgoing(
        shop=shop,
        actor=pre_agent,
        text="The phone on the order is 13812345678.",
        context=context_for_shop(shop, recipient_is_paying_buyer=False),
        source="reply",
    )
    excerpts = set(ComplianceFinding.objects.values_list("excerpt", flat=True))
    assert excerpts
    assert not any(ch.isdigit() for e in excerpts for ch in e)


def test_warn_override_is_recorded_once(shop, pre_agent):
    text = "That's the courier's fault, sorry."
    ctx = context_for_shop(shop)
    verdict = check_outgoing(
        shop=shop, actor=pre_agent, text=text, context=ctx, source="reply", conversation_id=7
    )
    assert verdict.verdict == "warn"
    marked = record_override(
        shop=shop, actor=pre_agent, verdict=verdict, text=text, source="reply", conversation_id=7
    )
    assert len(marked) == 1
    row = ComplianceFinding.objects.get()
    assert row.overridden
    assert not row.blocked
    assert row.code == "blame_courier"


def test_override_without_prior_check_creates_rows(shop, pre_agent):
    text = "Refund is on its way, please be patient."
    verdict = check_text(text, context=context_for_shop(shop))
    record_override(
        shop=shop, actor=pre_agent, verdict=verdict, text=text, source="reply", conversation_id=None
    )
    row = ComplianceFinding.objects.get()
    assert row.overridden
    assert row.code == "wait_patiently"


def test_old_warning_is_not_reused_for_a_later_override(shop, pre_agent):
    text = "It's the carrier's problem."
    ctx = context_for_shop(shop)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)):
        verdict = check_outgoing(shop=shop, actor=pre_agent, text=text, context=ctx, source="reply")
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)):
        record_override(
            shop=shop,
            actor=pre_agent,
            verdict=verdict,
            text=text,
            source="reply",
            conversation_id=None,
        )
    assert ComplianceFinding.objects.count() == 2
    assert ComplianceFinding.objects.filter(overridden=True).count() == 1


def test_block_cannot_be_overridden(shop, pre_agent):
    text = "Pay me via PayPal directly."
    verdict = check_outgoing(
        shop=shop, actor=pre_agent, text=text, context=context_for_shop(shop), source="reply"
    )
    with pytest.raises(ComplianceBlocked) as err:
        record_override(
            shop=shop,
            actor=pre_agent,
            verdict=verdict,
            text=text,
            source="reply",
            conversation_id=None,
        )
    assert err.value.verdict.codes == {"off_platform"}
    assert not ComplianceFinding.objects.filter(overridden=True).exists()


def test_override_of_a_different_text_is_refused(shop, pre_agent):
    verdict = check_text("It's the courier's fault.", context=context_for_shop(shop))
    with pytest.raises(ValueError, match="does not belong"):
        record_override(
            shop=shop,
            actor=pre_agent,
            verdict=verdict,
            text="Hello!",
            source="reply",
            conversation_id=None,
        )


def test_saving_a_violating_script_is_refused(shop, owner):
    with pytest.raises(ComplianceBlocked) as err:
        ensure_saveable(shop=shop, actor=owner, text="信用卡付款请另加1%手续费", source="script")
    assert err.value.verdict.codes == {"card_fee"}
    assert "card_fee" in str(err.value)
    row = ComplianceFinding.objects.get()
    assert row.source == "script"
    assert row.blocked


def test_saved_text_assumes_free_shipping_when_the_shop_offers_it(shop, owner, product):
    text = "Remote areas need to pay extra postage."
    with pytest.raises(ComplianceBlocked):
        ensure_saveable(shop=shop, actor=owner, text=text, source="quick_reply")
    product.free_shipping = False
    product.save()
    ensure_saveable(shop=shop, actor=owner, text=text, source="quick_reply")


def test_warned_keyword_reply_saves_and_is_recorded(shop, owner):
    ensure_saveable(shop=shop, actor=owner, text="快递的问题，您耐心等", source="keyword_reply")
    assert ComplianceFinding.objects.filter(code="blame_courier", blocked=False).exists()


def test_inputs_are_validated(shop, rival, pre_agent):
    ctx = context_for_shop(shop)
    with pytest.raises(ValueError, match="another shop"):
        check_outgoing(shop=shop, actor=rival, text="hi", context=ctx, source="reply")
    with pytest.raises(ValueError, match="unknown source"):
        check_outgoing(shop=shop, actor=pre_agent, text="hi", context=ctx, source="fax")
    with pytest.raises(ValueError, match="platform"):
        check_outgoing(
            shop=shop,
            actor=pre_agent,
            text="hi",
            context=CheckContext(platform="tmall"),
            source="reply",
        )


def test_shipping_policy_is_a_setting_of_the_owner(shop, owner, pre_agent, other_shop):
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import translation

    from kefu.compliance.models import ShippingPolicy
    from kefu.compliance.services import set_shipping_policy

    with pytest.raises(PermissionDenied):
        set_shipping_policy(shop=shop, actor=pre_agent, free_shipping=True)
    with translation.override("en"), pytest.raises(ValidationError, match="only make sense"):
        set_shipping_policy(shop=shop, actor=owner, free_shipping=False, excluded_regions=["新疆"])
    with translation.override("en"), pytest.raises(ValidationError, match="at most"):
        set_shipping_policy(
            shop=shop, actor=owner, free_shipping=True, excluded_regions=["x" * 101]
        )
    with translation.override("zh-hans"), pytest.raises(ValidationError, match="最多 100 个字符"):
        set_shipping_policy(
            shop=shop, actor=owner, free_shipping=True, excluded_regions=["x" * 101]
        )
    with pytest.raises(ValueError, match="another shop"):
        set_shipping_policy(shop=other_shop, actor=owner, free_shipping=True)
    assert not ShippingPolicy.objects.exists()
    set_shipping_policy(
        shop=shop, actor=owner, free_shipping=True, excluded_regions=[" 新疆 ", "新疆", "西藏"]
    )
    ctx = context_for_shop(shop)
    assert (ctx.free_shipping, ctx.regional_postage) == (True, True)
    assert ShippingPolicy.objects.get(shop=shop).excluded_regions == ["新疆", "西藏"]
    # A product under discussion wins over the policy.
    lamp = add_product(shop, "L-1", "Lamp", free_shipping=False)
    assert context_for_shop(shop, product=lamp).free_shipping is False


@pytest.mark.parametrize(
    ("messages", "asks"),
    [
        (["我用另一个账号买的，把收货地址和电话发我"], True),
        (["我小号下单的，收件人电话多少"], True),
        (["I bought it with my other account, what's the delivery address?"], True),
        (["Я заказывал с другого аккаунта, какой там адрес?"], True),
        (["有大号吗？收货地址写哪里"], False),  # a clothing size, not an account
        (["What is your return address?"], False),
    ],
)
def test_a_buyer_asking_for_another_accounts_details(messages, asks):
    from kefu.compliance.services import buyer_asks_for_another_account

    assert buyer_asks_for_another_account(messages) is asks
