"""Pages: every order URL as the owner, a narrower sub-account, another shop and anonymous."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from kefu.orders.models import ImportRun, IncidentBroadcast, Order
from kefu.orders.services import TrackingInput, record_tracking

from ..conftest import login_client
from .factories import make_order

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=dt.UTC)


def en_client(user):
    """A signed-in client reading the English UI (the default is zh-Hans)."""
    client = login_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def two_parcel_order(shop, product):
    order = make_order(
        shop,
        "SIDE-1",
        buyer="olga",
        products=[product],
        parcels=[("LP-A", "Cainiao"), ("LP-B", "Cainiao")],
    )
    record_tracking(
        shop=shop,
        tracking_number="LP-A",
        events=[
            TrackingInput(
                status="InTransit",
                occurred_at=T0 + dt.timedelta(days=1),
                description="Departed Shenzhen hub",
            ),
            TrackingInput(
                status="Delivered",
                occurred_at=T0 + dt.timedelta(days=9),
                description="Delivered to mailbox",
            ),
        ],
    )
    record_tracking(
        shop=shop,
        tracking_number="LP-B",
        events=[
            TrackingInput(
                status="at customs",
                occurred_at=T0 + dt.timedelta(days=3),
                description="Customs clearance started",
            ),
        ],
    )
    return order


def test_sidebar_shows_the_buyers_order_with_two_parcels_and_timeline(two_parcel_order, pre_agent):
    url = f"/orders/sidebar/{two_parcel_order.buyer_id}/?highlight=SIDE-1"
    response = login_client(pre_agent).get(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="order-card highlighted" data-order="SIDE-1"' in html
    assert html.count('class="parcel') == 2
    assert "Departed Shenzhen hub" in html
    assert "Customs clearance started" in html
    assert "Desk lamp" in html


def test_sidebar_of_another_shop_or_hidden_orders(two_parcel_order, after_agent, rival):
    url = f"/orders/sidebar/{two_parcel_order.buyer_id}/"
    assert login_client(rival).get(url).status_code == 404
    hidden = login_client(after_agent).get(url)
    assert hidden.status_code == 200
    assert "SIDE-1" not in hidden.content.decode()
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize("path", ["/orders/", "/orders/risk/", "/orders/{id}/"])
def test_pages_render_for_the_owner_and_hide_other_shops(two_parcel_order, owner, rival, path):
    url = path.format(id=two_parcel_order.pk)
    assert login_client(owner).get(url).status_code == 200
    other = login_client(rival).get(url)
    assert other.status_code == (404 if "{id}" in path else 200)
    if other.status_code == 200:
        assert "SIDE-1" not in other.content.decode()


def test_detail_page_is_404_for_an_agent_without_the_product(two_parcel_order, after_agent):
    assert login_client(after_agent).get(f"/orders/{two_parcel_order.pk}/").status_code == 404


def test_refund_form_denied_for_agent_changes_nothing(two_parcel_order, pre_agent):
    response = login_client(pre_agent).post(
        f"/orders/{two_parcel_order.pk}/refunds/", {"amount": "5", "reason": "x"}
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=two_parcel_order.pk).refunded_amount == 0


def test_owner_only_pages(shop, owner, pre_agent):
    for url in ("/orders/import/", "/orders/incidents/"):
        assert login_client(owner).get(url).status_code == 200
        assert login_client(pre_agent).get(url).status_code == 403


def test_upload_runs_the_import_and_shows_progress(shop, owner, django_capture_on_commit_callbacks):
    client = en_client(owner)
    with (
        open("tests/orders/fixtures/tmall_traditional_bom.csv", "rb") as f,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == f"/orders/import/{run.pk}/"
    run.refresh_from_db()
    assert (run.status, run.created, run.rejected, run.percent) == ("done", 2, 0, 100)
    partial = client.get(response.url, headers={"HX-Request": "true"})
    assert "created 2" in partial.content.decode()
    assert "hx-trigger" not in partial.content.decode()  # finished: stops polling


def test_upload_of_a_non_spreadsheet_fails_the_run_clearly(
    shop, owner, django_capture_on_commit_callbacks
):
    with (
        open("tests/orders/fixtures/photo_named.csv", "rb") as f,
        django_capture_on_commit_callbacks(execute=True),
    ):
        login_client(owner).post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert "is not a spreadsheet" in run.error
    assert not Order.objects.exists()


def test_incident_page_previews_then_queues(
    two_parcel_order, owner, django_capture_on_commit_callbacks
):
    client = en_client(owner)
    preview = client.get("/orders/incidents/", {"carrier": "cainiao"})
    assert "1 orders, 1 buyers affected" in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/orders/incidents/",
            {
                "carrier": "cainiao",
                "title": "Cainiao delay",
                "send": "1",
                "text": "Our courier is overloaded after Double 11; your parcel is safe.",
            },
        )
    assert sent.status_code == 302
    assert IncidentBroadcast.objects.get().recipient_count == 1
