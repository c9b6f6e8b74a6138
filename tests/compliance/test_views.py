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
