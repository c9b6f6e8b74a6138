"""A grant never exceeds the granter's own rights and limits (issue 10 item 9), through the
API and page a granted sub-account really uses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.accounts.models import User
from kefu.accounts.services import create_agent
from tests.conftest import PASSWORD, login_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def deputy(shop, owner) -> User:
    """A sub-account the owner let manage the team, with refunds up to 5."""
    return create_agent(
        actor=owner,
        shop=shop,
        login="deputy",
        groups=["after_sale"],
        password=PASSWORD,
        can_manage_settings=True,
        can_issue_refunds=True,
        refund_limit=Decimal("5"),
    )[0]


def _create(client, **rights):
    return client.post(
        "/api/v1/shop/agents",
        {"login": "newbie", "groups": ["after_sale"], **rights},
        content_type="application/json",
    )


@pytest.mark.parametrize(
    "rights",
    [
        {"can_issue_refunds": True},  # no limit: more than the deputy's 5
        {"can_issue_refunds": True, "refund_limit": "50"},
        {"can_create_campaigns": True},
    ],
)
def test_a_deputy_cannot_create_an_account_above_itself(shop, deputy, rights):
    response = _create(login_client(deputy), **rights)

    assert response.status_code == 400
    assert not User.objects.filter(username="newbie").exists()


def test_a_deputy_may_grant_up_to_its_own_limit(shop, deputy):
    response = _create(login_client(deputy), can_issue_refunds=True, refund_limit="5")

    assert response.status_code == 201
    newbie = User.objects.get(username="newbie")
    assert (newbie.can_issue_refunds, newbie.refund_limit) == (True, Decimal("5"))


def test_the_owner_grants_anything(shop, owner):
    response = _create(login_client(owner), can_issue_refunds=True, can_create_campaigns=True)

    assert response.status_code == 201
    assert User.objects.get(username="newbie").refund_limit is None


def test_a_deputy_cannot_disable_or_strip_an_account_above_itself(shop, owner, deputy):
    boss, _ = create_agent(
        actor=owner,
        shop=shop,
        login="boss",
        groups=["after_sale"],
        can_manage_settings=True,
        can_issue_refunds=True,
    )
    client = login_client(deputy)

    disabled = client.post(f"/api/v1/shop/agents/{boss.pk}/disable")

    assert disabled.status_code == 403
    boss.refresh_from_db()
    assert boss.is_active and boss.can_issue_refunds and boss.refund_limit is None
