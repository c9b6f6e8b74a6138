import pytest
from django.test import Client

from kefu.compliance.packs import pack_for
from kefu.compliance.services import check_outgoing, context_for_shop, record_override
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def _send(shop, actor, text, *, override=False):
    verdict = check_outgoing(
        shop=shop, actor=actor, text=text, context=context_for_shop(shop), source="reply"
    )
    if override:
        record_override(
            shop=shop, actor=actor, verdict=verdict, text=text, source="reply", conversation_id=None
        )


def test_anonymous_is_sent_to_login():
    for path in ("/compliance/findings/", "/compliance/rules/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_owner_sees_every_agent_per_day(shop, owner, pre_agent, after_agent):
    _send(shop, pre_agent, "It's the courier's fault.", override=True)
    _send(shop, after_agent, "Pay me by PayPal directly.")
    page = login_client(owner).get("/compliance/findings/")
    assert page.status_code == 200
    summary = {row.login: row for row in page.context["summary"]}
    assert set(summary) == {"lily", "max"}
    assert (summary["lily"].warned, summary["lily"].overridden, summary["lily"].blocked) == (
        1,
        1,
        0,
    )
    assert (summary["max"].warned, summary["max"].blocked) == (0, 1)
    html = page.content.decode()
    assert "PayPal" in html
    assert "courier" in html


def test_agent_sees_only_own_findings(shop, pre_agent, after_agent):
    _send(shop, pre_agent, "It's the courier's fault.")
    _send(shop, after_agent, "Pay me by PayPal directly.")
    page = login_client(pre_agent).get("/compliance/findings/?agent=max")
    assert page.status_code == 200
    assert [f.actor.username for f in page.context["findings"]] == ["lily"]
    assert "PayPal" not in page.content.decode()


def test_other_shop_sees_nothing(shop, pre_agent, rival):
    _send(shop, pre_agent, "It's the courier's fault.")
    page = login_client(rival).get("/compliance/findings/")
    assert page.status_code == 200
    assert list(page.context["findings"]) == []


def test_rules_page_lists_every_rule_of_the_pack(shop, owner, rival):
    html = login_client(owner).get("/compliance/rules/").content.decode()
    for rule in pack_for("aliexpress").rules:
        assert f'id="rule-{rule.code}"' in html
        # Interface language defaults to Chinese; the wording carries the shop's promises.
        assert rule.alternative_for(ship_by_hours=72, refund_days="3–20").zh in html
    tmall = login_client(rival).get("/compliance/rules/").content.decode()
    assert pack_for("tmall").version in tmall


def test_owner_sets_the_shipping_policy_on_a_page_and_the_guard_uses_it(shop, owner):
    client = login_client(owner)
    page = client.get("/compliance/shipping-policy/")
    assert page.status_code == 200 and 'name="free_shipping"' in page.content.decode()
    assert "/compliance/shipping-policy/" in client.get("/settings/").content.decode()
    # Before: no promise, so asking for postage is no free-shipping finding.
    assert (
        "free_shipping"
        not in check_outgoing(
            shop=shop,
            actor=owner,
            text="新疆要补10元邮费",
            context=context_for_shop(shop),
            source="reply",
        ).codes
    )
    saved = client.post(
        "/compliance/shipping-policy/",
        {"free_shipping": "on", "excluded_regions": "新疆、西藏\n"},
        follow=True,
    )
    assert saved.status_code == 200
    form = saved.content.decode()
    assert "新疆\n西藏" in form and "checked" in form
    verdict = check_outgoing(
        shop=shop,
        actor=owner,
        text="新疆要补10元邮费",
        context=context_for_shop(shop),
        source="reply",
    )
    assert "free_shipping" in verdict.codes
    # The listing sets postage for the excluded regions: pointing at the page stays allowed.
    assert (
        "free_shipping"
        not in check_outgoing(
            shop=shop,
            actor=owner,
            text="新疆请按页面显示的运费支付",
            context=context_for_shop(shop),
            source="reply",
        ).codes
    )


def test_bad_shipping_policy_is_a_400_with_the_reason_and_changes_nothing(shop, owner):
    client = login_client(owner)
    client.post("/compliance/shipping-policy/", {"free_shipping": "on"})
    bad = client.post("/compliance/shipping-policy/", {"excluded_regions": "新疆"})
    assert bad.status_code == 400
    assert "只有设置包邮时才能填写不包邮地区" in bad.content.decode()
    too_many = client.post(
        "/compliance/shipping-policy/",
        {"free_shipping": "on", "excluded_regions": "\n".join(f"区{i}" for i in range(41))},
    )
    assert too_many.status_code == 400 and "不包邮地区最多 40 个" in too_many.content.decode()
    page = client.get("/compliance/shipping-policy/").content.decode()
    assert "checked" in page and "区1" not in page


def test_shipping_policy_page_in_english(shop, owner):
    bad = login_client(owner).post(
        "/compliance/shipping-policy/?lang=en", {"excluded_regions": "新疆"}
    )
    body = bad.content.decode()
    assert bad.status_code == 400
    assert "Excluded regions only make sense with free shipping." in body
    assert "Shipping policy" in body


def test_a_sub_account_without_the_grant_cannot_open_the_shipping_policy(shop, pre_agent):
    assert login_client(pre_agent).get("/compliance/shipping-policy/").status_code == 403
