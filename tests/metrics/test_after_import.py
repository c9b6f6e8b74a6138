"""Figures right after imports (issue 12 §6) and the seller centre's way beside Kefu's (R-49).

Everything goes through the seller's paths: `kefu import messages`, `kefu import orders`, the
upload page, `kefu metrics`, the dashboard and the API. No test here runs a refresh itself:
the figures must be current because the import left them so.
"""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client

from kefu.cli import main as kefu
from kefu.metrics import selectors
from kefu.orders.models import ImportRun, Order, Parcel
from tests.conftest import login_client

DAY = dt.date(2026, 3, 2)
RANGE = "from=2026-03-02&to=2026-03-02"

# Ivan asks, gets the welcome and then Lily's answer; Olga only ever gets the automatic reply.
HISTORY = [
    {
        "external_id": "m1",
        "buyer_external_id": "ivan",
        "direction": "buyer",
        "sent_at": "2026-03-02T10:00:00+08:00",
        "text": "Is it in stock?",
        "entry_point": "product_page",
        "channel_hint": "app",
    },
    {
        "external_id": "m2",
        "buyer_external_id": "ivan",
        "direction": "auto",
        "sent_at": "2026-03-02T10:00:01+08:00",
        "text": "Welcome!",
    },
    {
        "external_id": "m3",
        "buyer_external_id": "ivan",
        "direction": "agent",
        "agent": "lily",
        "sent_at": "2026-03-02T10:05:00+08:00",
        "text": "Yes, 40 left",
    },
    {
        "external_id": "m4",
        "buyer_external_id": "olga",
        "direction": "buyer",
        "sent_at": "2026-03-02T11:00:00+08:00",
        "text": "Do you ship to Kazan?",
        "entry_point": "product_page",
    },
    {
        "external_id": "m5",
        "buyer_external_id": "olga",
        "direction": "auto",
        "sent_at": "2026-03-02T11:00:02+08:00",
        "text": "Welcome! An agent answers soon.",
    },
]

# A Taobao-style export (GBK): Ivan paid two hours after asking; the tracking number keeps the
# export's "No:" prefix; 宝贝种类 is a known column Kefu does not store, 自定义列 is unknown.
TAOBAO_HEADER = (
    "订单编号,买家会员名,总金额,买家实际支付金额,订单状态,订单创建时间,订单付款时间,"
    "宝贝标题,宝贝种类,宝贝总数量,物流单号,物流公司,自定义列"
)
TAOBAO_ROW = (
    "T-1,ivan,199.00,199.00,卖家已发货，等待买家确认,2026-03-02 11:58:00,2026-03-02 12:00:00,"
    "台灯,1,1,No:YT1234567890,圆通速递,x"
)


def _history(tmp_path, lines=HISTORY):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    return path


def _taobao(tmp_path, *rows, header=TAOBAO_HEADER):
    path = tmp_path / "taobao.csv"
    path.write_bytes("\n".join([header, *rows]).encode("gbk") + b"\n")
    return path


def _jsonl(tmp_path, *objs):
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in objs) + "\n", "utf-8")
    return path


def _total(shop):
    return selectors.report(shop=shop, start=DAY, end=DAY).total


def test_cli_imports_leave_the_figures_current_without_a_worker(shop, pre_agent, tmp_path, capsys):
    assert kefu(["import", "messages", str(_history(tmp_path)), "--shop", "aurora", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ignored fields: channel_hint" in out
    assert "figures" in out
    # No worker ran: the import itself brought the day's figures up to date.
    assert selectors.freshness(shop).behind is False
    total = _total(shop)
    assert (total["reception_count"], total["replied_buyers"], total["messages_received"]) == (
        2,
        1,
        2,
    )
    assert total["guided_gmv"] == "0.00"

    path = _taobao(tmp_path, TAOBAO_ROW)
    assert kefu(["import", "orders", str(path), "--shop", "aurora", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "自定义列 (not recognised)" in out
    assert "宝贝种类 (not stored by Kefu)" in out
    assert "warning" not in out  # amount and payment time were recognised
    assert Parcel.objects.get(shop=shop).tracking_number == "YT1234567890"
    total = _total(shop)
    assert (total["guided_gmv"], total["converted_buyers"], total["placed_buyers"]) == (
        "199.00",
        1,
        1,
    )

    assert kefu(["metrics", "--shop", "aurora", "--from", "2026-03-02", "--to", "2026-03-02"]) == 0
    table = capsys.readouterr().out
    assert "figures as of" in table and "数据截至" in table
    assert "data until 2026-03-02 12:00" in table
    assert "older than the data" not in table
    assert kefu(["metrics", "--shop", "aurora", "--from", "2026-03-02", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["reception_count"] == 2
    assert doc["figures_behind_data"] is False
    assert doc["figures_as_of"] is not None


def test_the_seller_centre_reply_rates_count_automatic_replies_and_kefus_do_not(
    shop, owner, pre_agent, tmp_path
):
    assert kefu(["import", "messages", str(_history(tmp_path)), "--shop", "aurora", "--quiet"]) == 0
    total = _total(shop)
    # People only: Olga's message had no person's reply.
    assert (total["reply_rate_24h"], total["reply_rate"]) == (0.5, 0.5)
    # The seller centre's way: the automatic reply answered her.
    assert (total["replied_24h_with_auto"], total["reply_rate_24h_with_auto"]) == (2, 1.0)
    assert total["reply_rate_with_auto"] == 1.0

    doc = login_client(owner).get(f"/api/v1/metrics?{RANGE}").json()
    assert doc["total"]["reply_rate_24h"] == 0.5
    assert doc["total"]["reply_rate_24h_with_auto"] == 1.0
    assert doc["figures_behind_data"] is False

    client = Client()
    client.force_login(owner)
    page = client.get(f"/metrics/?{RANGE}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Seller centre: automatic replies included" in page
    assert "Figures as of" in page and "data until 2026-03-02" in page
    chinese = client.get(f"/metrics/?{RANGE}&lang=zh-hans").content.decode()
    assert "指标计算于" in chinese and "数据截至 2026-03-02" in chinese
    assert "卖家中心：含自动回复" in chinese
    export = client.get(f"/metrics/?{RANGE}&by=day&export=csv").content.decode("utf-8-sig")
    assert "24h reply rate, automatic replies included" in export


def test_placed_order_conversion_counts_an_unpaid_guided_order(shop, pre_agent, tmp_path, capsys):
    lines = [line for line in HISTORY if line["buyer_external_id"] == "ivan"]
    assert kefu(["import", "messages", str(_history(tmp_path, lines)), "--shop", "aurora"]) == 0
    # A JSONL order: `amount` is the order total; no payment time, one unknown field.
    path = _jsonl(
        tmp_path,
        {
            "external_id": "J-1",
            "buyer_external_id": "ivan",
            "status": "WAIT_BUYER_PAY",
            "amount": "25.00",
            "currency": "USD",
            "placed_at": "2026-03-02T12:00:00+08:00",
            "coupon": "SPRING",
            "parcels": [{"tracking_number": "No：LP00998877", "carrier": "Cainiao"}],
        },
    )
    capsys.readouterr()
    assert kefu(["import", "orders", str(path), "--shop", "aurora", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ignored fields: coupon (not recognised)" in out
    assert "No payment-time column or field was recognised" in out
    assert "No amount" not in out
    order = Order.objects.get(shop=shop, external_id="J-1")
    assert order.total_amount == 25
    assert order.parcels.get().tracking_number == "LP00998877"
    total = _total(shop)
    assert (total["placed_buyers"], total["placed_conversion_rate"]) == (1, 1.0)
    assert (total["converted_buyers"], total["consult_conversion_rate"]) == (0, 0.0)


def test_an_export_without_amount_or_payment_time_is_imported_with_warnings(shop, tmp_path, capsys):
    path = _taobao(
        tmp_path, "T-9,ivan,2026-03-02 11:58:00", header="订单编号,买家会员名,订单创建时间"
    )
    assert kefu(["import", "orders", str(path), "--shop", "aurora", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "warning: No amount column or field was recognised" in out
    assert "warning: No payment-time column or field was recognised" in out


def test_the_upload_page_names_ignored_columns_and_warns(
    shop, owner, tmp_path, django_capture_on_commit_callbacks
):
    path = _taobao(
        tmp_path,
        "T-5,ivan,卖家已发货，等待买家确认,2026-03-02 11:58:00,No:YT55,x",
        header="订单编号,买家会员名,订单状态,订单创建时间,物流单号,自定义列",
    )
    client = Client()
    client.force_login(owner)
    with open(path, "rb") as f, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/orders/import/", {"file": f}, HTTP_ACCEPT_LANGUAGE="en")
    run = ImportRun.objects.get()
    assert run.status == "done"
    assert run.ignored_columns == ["自定义列 (not recognised)"]
    assert len(run.warnings) == 2
    page = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert "自定义列 (not recognised)" in page
    assert "No amount column" in page
    assert Parcel.objects.get(shop=shop).tracking_number == "YT55"
    assert selectors.freshness(shop).behind is False


def test_the_dashboard_catches_up_when_no_run_has_computed_the_figures(
    shop, owner, pre_agent, tmp_path, monkeypatch
):
    # As if the import's own refresh had not happened and no worker runs.
    monkeypatch.setattr("kefu.conversations.history_import.after_import", lambda *, shop: [])
    assert kefu(["import", "messages", str(_history(tmp_path)), "--shop", "aurora", "--quiet"]) == 0
    assert selectors.freshness(shop).behind is True
    assert _total(shop)["reception_count"] == 0
    doc = login_client(owner).get(f"/api/v1/metrics?{RANGE}").json()
    assert doc["total"]["reception_count"] == 2
    assert doc["figures_behind_data"] is False


def test_columns_not_read_are_explained_in_the_language_of_the_upload(
    shop, owner, tmp_path, django_capture_on_commit_callbacks
):
    path = _taobao(
        tmp_path,
        "T-6,ivan,卖家已发货，等待买家确认,2026-03-02 11:58:00,88.00,x,y",
        header="订单编号,买家会员名,订单状态,订单付款时间,总金额,自定义列,宝贝种类",
    )
    client = Client()
    client.force_login(owner)
    with open(path, "rb") as f, django_capture_on_commit_callbacks(execute=True):
        client.post("/orders/import/", {"file": f}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert ImportRun.objects.get().ignored_columns == [
        "自定义列 (未识别)",
        "宝贝种类 (Kefu 不保存此列)",
    ]
