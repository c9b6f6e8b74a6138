"""The catalogue over the API (issue 12 §1): create, read, change, delete and bulk changes,
as a seller's own tools would call them with a token."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.accounts.tokens import create_api_token
from kefu.catalog.models import Product

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog/products"


def api_client(user: User) -> Client:
    token = create_api_token(user=user, name="tools")[1]
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def send(client: Client, method: str, path: str, body: object = None):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def test_a_product_made_read_changed_and_deleted_over_the_api(owner, pre_agent):
    api = api_client(owner)
    made = send(
        api,
        "post",
        BASE,
        {
            "external_id": "1005001",
            "sku": "LAMP-W",
            "title": "Aurora desk lamp",
            "price": "24.90",
            "stock": 40,
            "owner": "lily",
            "free_shipping_excluded_regions": ["Hawaii"],
            "shelf_life": "25,000 hours",
        },
    )
    assert made.status_code == 201, made.content
    lamp = made.json()
    assert (lamp["owner"], lamp["currency"], lamp["price"], lamp["sku"]) == (
        "lily",
        "USD",
        "24.90",
        "LAMP-W",
    )
    bulb = send(api, "post", BASE, {"external_id": "2002", "title": "Spare bulb"}).json()

    # A PATCH changes what it names and nothing else.
    changed = send(
        api, "patch", f"{BASE}/{lamp['id']}", {"related": ["2002"], "usage_cycle_days": 180}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["related"] == ["2002"]
    assert changed.json()["usage_cycle_days"] == 180
    assert changed.json()["shelf_life"] == "25,000 hours"
    assert api.get(f"{BASE}/{bulb['id']}").json()["related"] == ["1005001"]

    listed = api.get(f"{BASE}?q=lamp-w").json()
    assert [p["external_id"] for p in listed] == ["1005001"]
    assert [p["external_id"] for p in api.get(f"{BASE}?owner=none").json()] == ["2002"]

    assert send(api, "delete", f"{BASE}/{lamp['id']}").status_code == 204
    assert api.get(f"{BASE}/{lamp['id']}").status_code == 404
    assert list(Product.objects.values_list("external_id", flat=True)) == ["2002"]


def test_bad_values_are_refused_with_the_reason_and_nothing_changes(owner, product):
    api = api_client(owner)
    cases = [
        ({"external_id": "P-100", "title": "Copy"}, "Another product already has"),
        ({"external_id": "N-1", "title": "x", "owner": "ghost"}, "no sub-account"),
        ({"external_id": "N-1", "title": "x", "owner": "owner"}, "no sub-account"),
        ({"external_id": "N-1", "title": "x", "related": ["nope"]}, "external id nope"),
        ({"external_id": "N-1", "title": "x", "url": "ftp://x"}, "http:// or https://"),
        ({"external_id": "N-1", "title": " "}, "Enter the product title."),
        ({"external_id": "N-1", "title": "x", "currency": "U$"}, "three-letter code"),
    ]
    for body, reason in cases:
        response = send(api, "post", BASE, body)
        assert response.status_code == 400, (body, response.content)
        assert reason.lower() in response.json()["detail"].lower(), (body, response.json())
    assert (
        send(api, "post", BASE, {"external_id": "N-2", "title": "x", "stock": -1}).status_code
        == 400
    )
    sku = send(api, "patch", f"{BASE}/{product.pk}", {"sku": "LAMP"})
    assert sku.status_code == 200
    taken = send(api, "post", BASE, {"external_id": "N-3", "title": "y", "sku": "LAMP"})
    assert taken.status_code == 400 and "already belongs to product P-100" in taken.json()["detail"]
    itself = send(api, "patch", f"{BASE}/{product.pk}", {"related": ["P-100"]})
    assert itself.status_code == 400
    assert Product.objects.count() == 1


def test_bulk_owner_and_main_push_are_all_or_nothing(owner, pre_agent, product, rival):
    api = api_client(owner)
    second = send(api, "post", BASE, {"external_id": "P-200", "title": "Shade"}).json()
    theirs = send(api_client(rival), "post", BASE, {"external_id": "R-1", "title": "Rival"})
    ids = [product.pk, second["id"]]

    response = send(api, "post", f"{BASE}/owner", {"product_ids": ids, "owner": "lily"})
    assert response.json() == {"changed": 1}  # P-100 was Lily's already
    response = send(api, "post", f"{BASE}/main-push", {"product_ids": ids, "main_push": True})
    assert response.json() == {"changed": 2}

    # Another shop's id among ours: 404, and none of ours changes.
    mixed = [*ids, theirs.json()["id"]]
    response = send(api, "post", f"{BASE}/owner", {"product_ids": mixed, "owner": None})
    assert response.status_code == 404
    assert set(Product.objects.filter(shop=owner.shop).values_list("owner", flat=True)) == {
        pre_agent.pk
    }


def test_every_login_reads_and_only_the_granted_write(owner, pre_agent, product):
    agent = api_client(pre_agent)
    assert [p["external_id"] for p in agent.get(BASE).json()] == ["P-100"]
    assert agent.get(f"{BASE}/{product.pk}").status_code == 200
    refused = send(agent, "patch", f"{BASE}/{product.pk}", {"title": "Mine now"})
    assert refused.status_code == 403
    assert send(agent, "delete", f"{BASE}/{product.pk}").status_code == 403
    User.objects.filter(pk=pre_agent.pk).update(can_manage_settings=True)
    assert send(agent, "patch", f"{BASE}/{product.pk}", {"title": "Mine now"}).status_code == 200
    product.refresh_from_db()
    assert product.title == "Mine now"
