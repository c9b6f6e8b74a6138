"""Checking, previewing and saving a keyword set (R-08)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from PIL import Image

from kefu.automation.keyword_rules import (
    KeywordRuleInput,
    preview_keyword_rules,
    save_keyword_rules,
)
from kefu.automation.models import KeywordRule, KeywordRuleSet
from tests.conftest import login_client
from tests.helpers import image_bytes

from .conftest import PNG, base_rules, text_rule


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


def test_image_upload_is_checked(owner, settings):
    settings.KEFU_MAX_IMAGE_BYTES = 1024 * 1024
    not_image = SimpleUploadedFile("x.png", b"hello world", content_type="image/png")
    rules = [
        KeywordRuleInput(keyword="size chart", reply_type="image", image_upload=not_image),
        text_rule("b"),
        text_rule("c"),
    ]
    with pytest.raises(ValidationError, match="not an image Kefu can read"):
        save_keyword_rules(actor=owner, rules=rules)
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024), "image/png")
    rules[0].image_upload = big
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        save_keyword_rules(actor=owner, rules=rules)
    bmp = SimpleUploadedFile("chart.bmp", image_bytes("BMP"), "image/bmp")
    rules[0].image_upload = bmp
    with pytest.raises(ValidationError, match="JPEG, PNG, WebP or GIF"):
        save_keyword_rules(actor=owner, rules=rules)
    assert not KeywordRule.objects.exists()
    rules[0].image_upload = SimpleUploadedFile("chart.png", PNG, "image/png")
    save_keyword_rules(actor=owner, rules=rules)
    saved = KeywordRule.objects.get(keyword="size chart")
    assert saved.image.name.startswith("keyword-replies/")
    with saved.image.open("rb") as stored:
        assert Image.open(stored).size == (6, 4)
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
    # The offer a buyer writing that sample reads (English here), not a bare code and value.
    assert preview.rows[3].reply.splitlines() == [
        "A coupon for you: 5.00 USD off your order.",
        "For orders of 30.00 USD or more.",
        "Valid until April 30, 2026, 23:59 (UTC+08:00).",
        "To use it, enter the code SPRING5 at checkout.",
    ]
    assert not KeywordRule.objects.exists()
    assert not KeywordRuleSet.objects.exists()


def test_preview_reports_errors_of_an_unsaveable_set(shop):
    preview = preview_keyword_rules(shop=shop, rules=[text_rule("a")], samples=["a"])
    assert not preview.can_save
    assert "this one has 1" in preview.errors[0]
    assert preview.rows[0].keyword == "a"


def test_the_keyword_page_shows_no_coupon_error_for_a_saved_coupon(owner):
    """The page's preview rebuilt the saved set without the coupon's last valid day and
    showed "the coupon needs a last valid day" on every load (issue 13)."""
    save_keyword_rules(actor=owner, rules=base_rules())

    page = login_client(owner).get("/automation/keywords/")

    assert page.status_code == 200
    assert "needs a last valid day" not in page.content.decode()
