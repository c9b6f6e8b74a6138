"""Pages: every order URL as the owner, a narrower sub-account, another shop and anonymous."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from kefu.orders.models import ImportRun, IncidentBroadcast, Order
from kefu.orders.tracking import TrackingInput, record_tracking

from ..conftest import login_client
from ..helpers import buyer_says, online
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


def _olga_writes_to(agent) -> None:
    """Olga asks about SIDE-1 in the after-sale chat; it lands with ``agent``."""
    online(agent)
    buyer_says(agent.shop, "Where is SIDE-1?", buyer="olga", entry_point="order_detail")


def test_sidebar_of_another_shop_or_hidden_orders(two_parcel_order, after_agent, rival):
    url = f"/orders/sidebar/{two_parcel_order.buyer_id}/"
    assert login_client(rival).get(url).status_code == 404
    # One buyer rule: a sub-account with no chat and no order of its own with Olga
    # does not learn she exists; the one holding her chat gets the panel, not SIDE-1.
    assert login_client(after_agent).get(url).status_code == 404
    _olga_writes_to(after_agent)
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


def test_upload_of_an_xlsx_export_imports_it(shop, owner, django_capture_on_commit_callbacks):
    # The upload is stored under a generated name without its .xlsx ending.
    with (
        open("tests/orders/fixtures/aliexpress_orders.xlsx", "rb") as f,
        django_capture_on_commit_callbacks(execute=True),
    ):
        login_client(owner).post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    assert (run.status, run.error) == ("done", "")
    assert run.created == Order.objects.filter(shop=shop).count() > 0


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
    assert "不是表格文件" in run.error  # in the uploader's UI language
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


# --- what the pages say to a seller (review of the orders pages in both languages) ----------


def test_refund_amount_that_is_not_a_finite_number_is_refused_not_a_server_error(
    two_parcel_order, owner
):
    client = login_client(owner)
    for amount in ("NaN", "Infinity", "12,50", ""):
        response = client.post(
            f"/orders/{two_parcel_order.pk}/refunds/", {"amount": amount, "reason": "broken"}
        )
        assert response.status_code == 302, amount
        page = client.get(response.url).content.decode()
        assert "请用数字填写退款金额" in page, amount
    assert Order.objects.get(pk=two_parcel_order.pk).refunded_amount == 0


def test_refusals_are_said_in_the_readers_language_with_what_to_do(two_parcel_order, owner):
    url = f"/orders/{two_parcel_order.pk}/"
    zh = login_client(owner)
    zh.post(url + "refunds/", {"amount": "5000", "reason": "broken"})
    page = zh.get(url).content.decode()
    assert "最多还可退 100.00 USD" in page
    assert "refunds would total" not in page

    en = en_client(owner)
    en.post(url + "parcels/", {"tracking_number": "LP-A", "carrier": "Cainiao"})
    page = en.get(url).content.decode()
    assert "Tracking number LP-A is already on an order of this shop" in page


def test_flags_history_and_stalled_parcels_are_labelled_not_codes(two_parcel_order, owner):
    Order.objects.filter(pk=two_parcel_order.pk).update(flags=["oversold"])
    zh = login_client(owner)
    listing = zh.get("/orders/").content.decode()
    assert ">超卖</span>" in listing
    assert ">oversold</span>" not in listing
    detail = zh.get(f"/orders/{two_parcel_order.pk}/").content.decode()
    assert "收到订单" in detail  # the "created" event
    assert "物流停滞" in detail  # LP-B has had no news since 2024
    assert "Stalled" not in detail
    assert "flag_added" not in detail and "parcel_status" not in detail


def test_clearing_a_flag_says_so(two_parcel_order, owner):
    Order.objects.filter(pk=two_parcel_order.pk).update(flags=["send_new_tracking"])
    client = en_client(owner)
    response = client.post(
        f"/orders/{two_parcel_order.pk}/flags/clear/", {"flag": "send_new_tracking"}
    )
    page = client.get(response.url).content.decode()
    assert "Done: Send the buyer the new tracking number." in page
    assert Order.objects.get(pk=two_parcel_order.pk).flags == []


def test_sidebar_says_when_the_conversations_order_is_not_visible(two_parcel_order, after_agent):
    _olga_writes_to(after_agent)
    url = f"/orders/sidebar/{two_parcel_order.buyer_id}/?highlight=SIDE-1"
    html = en_client(after_agent).get(url).content.decode()
    assert "This conversation is about order SIDE-1, which is not among the orders" in html
    plain = en_client(after_agent).get(f"/orders/sidebar/{two_parcel_order.buyer_id}/")
    assert "not among the orders" not in plain.content.decode()


def test_choosing_an_order_shows_a_refusal_in_the_conversations_error_slot(shop, owner):
    from tests.helpers import buyer_says

    conv = buyer_says(shop, text="where is my order?").conversation
    response = login_client(owner).post(
        f"/inbox/{conv.pk}/order/", {"order": "x"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#action-error"


def test_incident_send_without_criteria_or_matching_orders_explains_and_sends_nothing(
    two_parcel_order, owner
):
    client = en_client(owner)
    empty = client.post("/orders/incidents/", {"title": "t", "text": "m", "send": "1"})
    assert empty.status_code == 400
    assert "Choose the affected orders first" in empty.content.decode()
    nobody = client.post(
        "/orders/incidents/", {"carrier": "Nope", "title": "t", "text": "m", "send": "1"}
    )
    assert "No paid or shipped order matches: nothing was sent." in nobody.content.decode()
    untitled = client.post("/orders/incidents/", {"carrier": "cainiao", "text": "m", "send": "1"})
    assert untitled.status_code == 400
    assert "Write a title (only you see it)" in untitled.content.decode()
    assert not IncidentBroadcast.objects.exists()


def test_failed_import_names_the_uploaded_file_and_the_poll_refreshes_recent_imports(
    shop, owner, django_capture_on_commit_callbacks
):
    client = en_client(owner)
    with (
        open("tests/orders/fixtures/photo_named.csv", "rb") as f,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/orders/import/", {"file": f})
    partial = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert "photo_named.csv is not a spreadsheet" in partial
    assert 'id="recent-imports" hx-swap-oob="true"' in partial
    page = client.get(response.url).content.decode()
    assert "hx-swap-oob" not in page


def test_sub_account_granted_the_right_finds_import_and_incidents_in_the_tabs(shop, pre_agent):
    from kefu.accounts.models import User

    assert "/orders/import/" not in login_client(pre_agent).get("/orders/").content.decode()
    User.objects.filter(pk=pre_agent.pk).update(can_manage_settings=True, can_create_campaigns=True)
    tabs = login_client(pre_agent).get("/orders/").content.decode()
    assert "/orders/import/" in tabs and "/orders/incidents/" in tabs


def test_read_only_settings_page_offers_no_save_button(shop, owner, pre_agent):
    assert 'class="primary"' in login_client(owner).get("/orders/settings/").content.decode()
    page = login_client(pre_agent).get("/orders/settings/").content.decode()
    assert 'class="primary"' not in page


def test_refund_refusals_name_the_right_or_the_limit(two_parcel_order, pre_agent):
    from kefu.accounts.models import User

    url = f"/orders/{two_parcel_order.pk}/"
    client = en_client(pre_agent)
    client.post(url + "refunds/", {"amount": "5", "reason": "broken"})
    assert "allowed to issue refunds, records refunds" in client.get(url).content.decode()
    User.objects.filter(pk=pre_agent.pk).update(can_issue_refunds=True, refund_limit=10)
    client.post(url + "refunds/", {"amount": "50", "reason": "broken"})
    assert "Your refund limit is 10.00 USD" in client.get(url).content.decode()
    assert Order.objects.get(pk=two_parcel_order.pk).refunded_amount == 0


def test_an_upload_over_the_limits_is_refused_on_the_spot_and_nothing_is_kept(
    shop, owner, settings, tmp_path, django_capture_on_commit_callbacks
):
    from .test_import_limits import zip_bomb

    settings.KEFU_IMPORT_MAX_UPLOAD_BYTES = 10_000
    client = en_client(owner)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 5_000)
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    folder = settings.DATA_DIR / "imports"
    kept_before = set(folder.glob("*"))

    with open(big, "rb") as f:
        refused = client.post("/orders/import/", {"file": f})
    # A body far over the limit is refused from its length, before the form is parsed.
    with open(huge, "rb") as f:
        too_long = client.post("/orders/import/", {"file": f})
    settings.KEFU_IMPORT_MAX_UPLOAD_BYTES = 50 * 2**20
    with open(zip_bomb(tmp_path / "bomb.xlsx"), "rb") as f:
        bomb = client.post("/orders/import/", {"file": f})

    assert refused.status_code == 413
    assert "big.csv is 20004 bytes; the limit is 10000 bytes" in refused.content.decode()
    assert too_long.status_code == 413
    assert "The file is too large: 1 MB; the limit is 0 MB." in too_long.content.decode()
    assert bomb.status_code == 400
    assert "bomb.xlsx unzips to 298 MB; the limit is 200 MB" in bomb.content.decode()
    assert not ImportRun.objects.exists()
    assert set(folder.glob("*")) == kept_before


def test_a_shop_runs_one_import_at_a_time(shop, owner):
    client = en_client(owner)
    with open("tests/orders/fixtures/tmall_traditional_bom.csv", "rb") as f:
        first = client.post("/orders/import/", {"file": f})  # queued: its commit never ran
    with open("tests/orders/fixtures/tmall_traditional_bom.csv", "rb") as f:
        second = client.post("/orders/import/", {"file": f})

    assert first.status_code == 302
    assert second.status_code == 409
    assert "An import of this shop is still running" in second.content.decode()
    assert ImportRun.objects.count() == 1

    # A run nothing picked up for the sweep's grace time (no import worker) locks nobody out.
    ImportRun.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    with open("tests/orders/fixtures/tmall_traditional_bom.csv", "rb") as f:
        third = client.post("/orders/import/", {"file": f})
    assert third.status_code == 302
    assert ImportRun.objects.count() == 2


def test_a_run_that_stored_nothing_never_reads_as_done(
    shop, owner, django_capture_on_commit_callbacks, tmp_path
):
    export = tmp_path / "all-bad.csv"
    export.write_text(
        "Order ID,Buyer Login ID,Order Status,Order Amount\nAE-1,anna\nAE-2,ben\n",
        encoding="utf-8",
    )  # every row is short: all rejected
    client = en_client(owner)
    with open(export, "rb") as f, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/orders/import/", {"file": f})
    run = ImportRun.objects.get()
    assert (run.status, run.rows, run.rejected) == ("done", 2, 2)

    page = client.get(response.url).content.decode()

    assert "nothing imported" in page and "nothing was stored" in page
    assert "the other rows were stored" not in page
    assert not Order.objects.exists()
