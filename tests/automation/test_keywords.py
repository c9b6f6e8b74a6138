import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from kefu.automation.keywords import KeywordMatcher, fold
from kefu.automation.models import AutomationHit, KeywordRule, KeywordRuleSet
from kefu.automation.services import (
    KeywordRuleInput,
    on_buyer_message,
    preview_keyword_rules,
    save_keyword_rules,
)
from kefu.core.textnorm import normalize

from .conftest import T0, buyer_says

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def text_rule(keyword, reply="reply", active=True):
    return KeywordRuleInput(keyword=keyword, reply_type="text", text=reply, is_active=active)


def base_rules():
    return [
        text_rule("refund", "Refunds take 3-20 business days."),
        text_rule("tracking", "Your tracking number is on the order page."),
        text_rule("tracking not updated", "International tracking pauses in flight."),
        text_rule("優惠券", "领券下单更划算"),
        KeywordRuleInput(
            keyword="coupon",
            reply_type="coupon",
            coupon_code="SPRING5",
            coupon_value="5",
            coupon_currency="usd",
            coupon_valid_until=dt.date(2026, 4, 30),
            coupon_min_spend="30",
        ),
    ]


# ---------------------------------------------------------------- the matcher


def test_matching_ignores_case_width_and_chinese_script():
    m = KeywordMatcher([(1, "Refund"), (2, "优惠券"), (3, "SALE")])
    assert m.match("I want a REFUND please").rule_id == 1
    assert m.match("ＲＥＦＵＮＤ？").rule_id == 1  # full-width letters
    assert m.match("有沒有優惠券").rule_id == 2  # traditional characters
    assert m.match("ｓａｌｅ").rule_id == 3
    assert m.match("nothing to see") is None


def test_traditional_keyword_matches_simplified_message():
    m = KeywordMatcher([(7, "發貨")])
    found = m.match("什么时候发货？")
    assert found is not None
    assert found.rule_id == 7
    assert "什么时候发货？"[found.start : found.end] == "发货"


def test_longest_match_wins_whatever_the_order():
    m = KeywordMatcher([(1, "tracking"), (2, "tracking not updated"), (3, "not")])
    assert m.match("my tracking not updated since monday").rule_id == 2
    assert m.match("my tracking is fine").rule_id == 1


def test_tie_goes_to_the_earliest_match_in_the_message():
    m = KeywordMatcher([(1, "refund"), (2, "cancel")])
    assert m.match("cancel or refund?").rule_id == 2


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_fast_path_equals_the_shared_normalisation(text):
    assert fold(text) == normalize(text)


@given(st.text(max_size=60))
def test_fast_fold_equals_the_shared_normalisation_for_any_text(text):
    assert fold(text) == normalize(text)


def test_fast_fold_on_mixed_scripts():
    text = "ＡＢＣ優惠券 Straße İ ﬁ 發貨"
    assert fold(text) == normalize(text)


# ---------------------------------------------------------------- validation


def test_fewer_than_three_active_rules_cannot_be_saved(owner):
    rules = [text_rule("a"), text_rule("b"), text_rule("c", active=False)]
    with pytest.raises(ValidationError, match="3 to 9 active rules; this one has 2"):
        save_keyword_rules(actor=owner, rules=rules)
    assert not KeywordRule.objects.exists()


def test_more_than_nine_active_rules_cannot_be_saved(owner):
    rules = [text_rule(f"kw{i}") for i in range(10)]
    with pytest.raises(ValidationError, match="this one has 10"):
        save_keyword_rules(actor=owner, rules=rules)


def test_three_and_nine_are_allowed_and_inactive_rules_do_not_count(owner):
    assert (
        save_keyword_rules(actor=owner, rules=[text_rule(f"k{i}") for i in range(3)]).version == 1
    )
    nine = [text_rule(f"k{i}") for i in range(9)] + [text_rule("off", active=False)]
    assert save_keyword_rules(actor=owner, rules=nine).version == 2


def test_keyword_length_is_1_to_300_characters(owner):
    ok = [text_rule("x" * 300), text_rule("b"), text_rule("c")]
    save_keyword_rules(actor=owner, rules=ok)
    with pytest.raises(ValidationError, match="at most 300 characters"):
        save_keyword_rules(
            actor=owner, rules=[text_rule("x" * 301), text_rule("b"), text_rule("c")]
        )
    with pytest.raises(ValidationError, match="keyword is empty"):
        save_keyword_rules(actor=owner, rules=[text_rule("   "), text_rule("b"), text_rule("c")])


def test_a_rule_has_exactly_one_reply_type(owner):
    both = KeywordRuleInput(
        keyword="sale", reply_type="text", text="50% off", coupon_code="SALE", coupon_value="3"
    )
    with pytest.raises(ValidationError, match=r"exactly one reply type .*remove the coupon"):
        save_keyword_rules(actor=owner, rules=[both, text_rule("b"), text_rule("c")])
    empty_coupon = KeywordRuleInput(keyword="sale", reply_type="coupon")
    with pytest.raises(ValidationError, match="coupon code"):
        save_keyword_rules(actor=owner, rules=[empty_coupon, text_rule("b"), text_rule("c")])


def test_database_refuses_a_rule_with_two_reply_types(shop):
    with pytest.raises(IntegrityError), transaction.atomic():
        KeywordRule.objects.create(
            shop=shop,
            version=1,
            position=0,
            keyword="k",
            reply_type="text",
            text="t",
            coupon_code="X",
        )


def test_image_upload_is_checked(owner):
    not_image = SimpleUploadedFile("x.png", b"hello world", content_type="image/png")
    rules = [
        KeywordRuleInput(keyword="size chart", reply_type="image", image_upload=not_image),
        text_rule("b"),
        text_rule("c"),
    ]
    with pytest.raises(ValidationError, match="PNG, JPEG, GIF or WebP"):
        save_keyword_rules(actor=owner, rules=rules)
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (2 * 1024 * 1024), "image/png")
    rules[0].image_upload = big
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        save_keyword_rules(actor=owner, rules=rules)
    rules[0].image_upload = SimpleUploadedFile("chart.png", PNG, "image/png")
    save_keyword_rules(actor=owner, rules=rules)
    saved = KeywordRule.objects.get(keyword="size chart")
    assert saved.image.name.startswith("keyword-replies/")
    with saved.image.open("rb") as stored:
        assert stored.read() == PNG
    # Saving the set again can keep the image without uploading it.
    rules[0] = KeywordRuleInput(
        keyword="size chart", reply_type="image", keep_image_of_rule=saved.pk
    )
    save_keyword_rules(actor=owner, rules=rules)
    assert KeywordRule.objects.get(keyword="size chart", version=2).image.name == saved.image.name
    saved.image.storage.delete(saved.image.name)


def test_saving_replaces_the_set_atomically_with_a_new_version(owner, shop):
    save_keyword_rules(actor=owner, rules=base_rules())
    second = [text_rule("a"), text_rule("b"), text_rule("c")]
    rule_set = save_keyword_rules(actor=owner, rules=second, expected_version=1)
    assert rule_set.version == 2
    live = KeywordRule.objects.filter(shop=shop, version=2)
    assert sorted(live.values_list("keyword", flat=True)) == ["a", "b", "c"]
    with pytest.raises(ValidationError, match="changed by someone else"):
        save_keyword_rules(actor=owner, rules=base_rules(), expected_version=1)
    assert KeywordRuleSet.objects.get(shop=shop).version == 2


def test_agent_cannot_edit_keyword_rules(pre_agent):
    with pytest.raises(PermissionDenied):
        save_keyword_rules(actor=pre_agent, rules=base_rules())
    assert not KeywordRule.objects.exists()


def test_agent_granted_settings_can_edit(pre_agent):
    pre_agent.can_manage_settings = True
    pre_agent.save()
    assert save_keyword_rules(actor=pre_agent, rules=base_rules()).version == 1


# ---------------------------------------------------------------- preview


def test_preview_answers_samples_and_saves_nothing(shop):
    preview = preview_keyword_rules(
        shop=shop,
        rules=base_rules(),
        samples=["my TRACKING NOT UPDATED", "有优惠券吗", "hello", "any Coupon?"],
    )
    assert preview.can_save
    assert [(r.keyword, r.reply_type) for r in preview.rows] == [
        ("tracking not updated", "text"),
        ("優惠券", "text"),
        (None, None),
        ("coupon", "coupon"),
    ]
    assert preview.rows[3].reply == "[coupon SPRING5: 5 usd]"
    assert not KeywordRule.objects.exists()
    assert not KeywordRuleSet.objects.exists()


def test_preview_reports_errors_of_an_unsaveable_set(shop):
    preview = preview_keyword_rules(shop=shop, rules=[text_rule("a")], samples=["a"])
    assert not preview.can_save
    assert "this one has 1" in preview.errors[0]
    assert preview.rows[0].keyword == "a"


# ---------------------------------------------------------------- live replies


def test_one_keyword_reply_per_buyer_message(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    with time_machine.travel(T0, tick=False):
        replies = on_buyer_message(
            message=buyer_says(conversation, "Refund? my tracking not updated", T0)
        )
    assert len(replies) == 1
    assert replies[0].text == "International tracking pauses in flight."
    assert replies[0].payload["automation"] == "keyword"
    rule = KeywordRule.objects.get(keyword="tracking not updated", version=1)
    assert replies[0].payload["rule_id"] == rule.pk
    assert AutomationHit.objects.get(kind="keyword").rule_id == rule.pk


def test_coupon_reply_carries_the_coupon(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    (reply,) = on_buyer_message(message=buyer_says(conversation, "COUPON please", T0))
    assert reply.kind == "coupon"
    assert reply.payload["coupon"] == {
        "code": "SPRING5",
        "value": "5.00",
        "currency": "USD",
        "valid_until": "2026-04-30",
        "min_spend": "30.00",
    }
    assert KeywordRule.objects.get(keyword="coupon").coupon_value == Decimal("5.00")


def test_keyword_replies_switch_off(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.keyword_replies_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    assert on_buyer_message(message=buyer_says(conversation, "refund", T0)) == []


def test_new_version_is_used_right_after_saving(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    assert on_buyer_message(message=buyer_says(conversation, "refund", T0))[0].text.startswith(
        "Refunds"
    )
    save_keyword_rules(
        actor=owner, rules=[text_rule("refund", "NEW"), text_rule("b"), text_rule("c")]
    )
    later = buyer_says(conversation, "refund", T0 + dt.timedelta(minutes=1))
    assert on_buyer_message(message=later)[0].text == "NEW"


def test_image_reply_points_at_the_stored_file(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    rules = [
        KeywordRuleInput(
            keyword="size chart",
            reply_type="image",
            image_upload=SimpleUploadedFile("chart.png", PNG, "image/png"),
        ),
        text_rule("b"),
        text_rule("c"),
    ]
    save_keyword_rules(actor=owner, rules=rules)
    rule = KeywordRule.objects.get(keyword="size chart")
    (reply,) = on_buyer_message(message=buyer_says(conversation, "Size chart?", T0))
    assert reply.kind == "image"
    assert reply.payload["image"] == {
        "name": rule.image.name,
        "url": f"/automation/keyword-images/{rule.pk}",
    }
    from tests.conftest import login_client

    assert b"".join(login_client(owner).get(reply.payload["image"]["url"]).streaming_content) == PNG
    rule.image.storage.delete(rule.image.name)


def test_intake_hook_query_budget(
    owner, auto_settings, conversation, django_assert_max_num_queries
):
    save_keyword_rules(actor=owner, rules=base_rules())
    on_buyer_message(message=buyer_says(conversation, "warm the caches", T0))
    message = buyer_says(conversation, "refund please", T0 + dt.timedelta(minutes=1))
    with django_assert_max_num_queries(11):
        replies = on_buyer_message(message=message)
    assert [r.payload["automation"] for r in replies] == ["keyword"]
