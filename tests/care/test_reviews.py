"""Reviews (R-43) from a shop made from nothing, by the seller's paths: `kefu shop create`,
products from a GBK product file with its 负责客服, delivered orders by the signed webhook, then
the seller centre's review export by `kefu import reviews` (Tmall, Chinese headers, GBK) and
an AliExpress export (English headers, XLSX), and the signed review webhook. A medium or
negative review becomes a review task (a negative one a call too), once however often it
arrives; the review task's state machine; who sees which task."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook

from kefu.accounts.models import Shop, User
from kefu.care.calls import log_call
from kefu.care.models import (
    CallReason,
    CallTask,
    Review,
    ReviewTask,
    ReviewTaskStep,
)
from kefu.cli import main
from kefu.integrations.signing import signed_headers
from kefu.orders import cli as orders_cli
from tests.conftest import login_client
from tests.helpers import post_order_signed, save_review_settings

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_import_group(monkeypatch):
    # build_parser() registers the shared `import` group again; start from scratch each time.
    monkeypatch.setattr(orders_cli, "import_subparsers", None)


def _import(path: Path, slug: str, capsys, *extra: str) -> tuple[int, str]:
    code = main(["import", "reviews", str(path), "--shop", slug, "--quiet", *extra])
    out, err = capsys.readouterr()
    return code, out + err


def _delivered(shop: Shop, external_id: str, product: str, buyer: str, days_ago: float = 3):
    at = timezone.now() - dt.timedelta(days=days_ago)
    response = post_order_signed(
        "/inbound",
        {
            "external_id": external_id,
            "buyer": {"external_id": f"b-{buyer}", "name": buyer, "language": "zh-hans"},
            "status": "TRADE_FINISHED",
            "currency": shop.currency,
            "total_amount": "99.00",
            "paid_amount": "99.00",
            "placed_at": (at - dt.timedelta(days=4)).isoformat(),
            "paid_at": (at - dt.timedelta(days=4)).isoformat(),
            "shipped_at": (at - dt.timedelta(days=3)).isoformat(),
            "delivered_at": at.isoformat(),
            "items": [{"product_external_id": product, "quantity": 1, "unit_price": "99"}],
        },
        shop,
    )
    assert response.status_code == 201, response.content


@pytest.fixture
def tmall_shop(capsys, tmp_path) -> Shop:
    """A Tmall shop made by the CLI: Lily (after-sale) owns the lamp, Max is in the call
    group, the fan has no owner; four delivered orders arrived by the order webhook."""
    assert main(["shop", "create", "--name", "天猫灯具", "--platform", "tmall", "--currency",
                 "CNY", "--timezone", "Asia/Shanghai", "--slug", "tianmao"]) == 0  # fmt: skip
    assert main(["agent", "create", "--shop", "tianmao", "--login", "lily", "--groups",
                 "after_sale"]) == 0  # fmt: skip
    assert main(["agent", "create", "--shop", "tianmao", "--login", "max", "--groups",
                 "outreach"]) == 0  # fmt: skip
    products = tmp_path / "products.csv"
    products.write_bytes(
        "宝贝名称,宝贝价格,宝贝ID,负责客服\n护眼台灯,99.00,P-LAMP,lily\n静音风扇,99.00,P-FAN,\n".encode(
            "gbk"
        )
    )
    assert main(["import", "products", str(products), "--shop", "tianmao", "--quiet"]) == 0
    shop = Shop.objects.get(slug="tianmao")
    for n, product, buyer in ((1, "P-LAMP", "小红"), (2, "P-LAMP", "小蓝"), (3, "P-FAN", "小绿"),
                              (4, "P-FAN", "小白")):  # fmt: skip
        _delivered(shop, f"TM-{n}", product, buyer)
    capsys.readouterr()
    return shop


def test_a_tmall_review_export_makes_tasks_and_calls_once(tmall_shop, capsys):
    code, out = _import(FIXTURES / "tmall_reviews_gbk.csv", "tianmao", capsys)

    assert code == 0, out
    assert "created 4, updated 0, unchanged 0, rejected 0; review tasks 3" in out
    levels = dict(Review.objects.filter(shop=tmall_shop).values_list("external_id", "level"))
    # Tmall shows stars only: 3 is at the shop's default threshold, so negative; 4 medium.
    assert levels == {"TR-1": "positive", "TR-2": "negative", "TR-3": "medium", "TR-4": "negative"}
    tr2 = Review.objects.get(external_id="TR-2")
    assert tr2.order.external_id == "TM-2" and tr2.product.title == "护眼台灯"
    assert tr2.buyer.name == "小蓝"
    tasks = ReviewTask.objects.filter(shop=tmall_shop)
    assert sorted(t.review.external_id for t in tasks) == ["TR-2", "TR-3", "TR-4"]
    assert {t.group for t in tasks} == {"after_sale"}
    calls = CallTask.objects.filter(shop=tmall_shop, reason=CallReason.NEGATIVE_REVIEW)
    assert sorted(c.order.external_id for c in calls) == ["TM-2", "TM-4"]

    code, out = _import(FIXTURES / "tmall_reviews_gbk.csv", "tianmao", capsys)

    assert code == 0, out
    assert "created 0, updated 0, unchanged 4, rejected 0" in out
    assert ReviewTask.objects.filter(shop=tmall_shop).count() == 3
    assert CallTask.objects.filter(shop=tmall_shop).count() == 2

    # Who sees what: Lily the tasks of her lamp; Max (no products, no chats) none; the owner all.
    lily = User.objects.get(username="lily")
    page = login_client(lily).get("/care/reviews/?status=all")
    assert page.status_code == 200
    body = page.content.decode()
    assert "一般般，灯光有点暗" in body and "收到就坏了" not in body
    api = login_client(lily).get("/api/v1/care/reviews/tasks?status=")
    assert [t["review"]["external_id"] for t in api.json()] == ["TR-2"]
    assert (
        login_client(User.objects.get(username="max")).get("/api/v1/care/reviews/tasks").json()
        == []
    )
    owner = User.objects.get(shop=tmall_shop, role="owner")
    assert len(login_client(owner).get("/api/v1/care/reviews/tasks").json()) == 3
    other = tasks.get(review__external_id="TR-4")
    assert login_client(lily).get(f"/care/reviews/tasks/{other.pk}/").status_code == 404


def test_the_shop_threshold_reads_tmall_scores(tmall_shop, capsys):
    owner = User.objects.get(shop=tmall_shop, role="owner")
    save_review_settings(
        owner,
        tmall_negative_at_most=2,
        task_group="outreach",
        invite_enabled=False,
        invite_after_days=3,
    )

    code, out = _import(FIXTURES / "tmall_reviews_gbk.csv", "tianmao", capsys)

    assert code == 0, out
    assert Review.objects.get(external_id="TR-2").level == "medium"  # 3 > 2 now
    assert Review.objects.get(external_id="TR-4").level == "negative"
    assert set(ReviewTask.objects.values_list("group", flat=True)) == {"outreach"}
    assert CallTask.objects.filter(shop=tmall_shop).count() == 1
    # Max (call group, no products) now works the review tasks; Lily still sees only hers.
    max_tasks = login_client(User.objects.get(username="max")).get("/api/v1/care/reviews/tasks")
    assert sorted(t["review"]["external_id"] for t in max_tasks.json()) == ["TR-2", "TR-3", "TR-4"]
    lily_tasks = login_client(User.objects.get(username="lily")).get("/api/v1/care/reviews/tasks")
    assert [t["review"]["external_id"] for t in lily_tasks.json()] == ["TR-2"]


def test_an_aliexpress_xlsx_export_with_a_bad_row_exits_3(shop, owner, product, tmp_path, capsys):
    with (FIXTURES / "aliexpress_reviews.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows.append(
        ["AE-R4", "AE-4", "P-100", "Desk lamp", "six", "??", "2026-11-26 10:00:00", "Anna", "RU"]
    )
    book = Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / "feedback.xlsx"
    book.save(path)
    for n in (1, 2, 3):
        _delivered(shop, f"AE-{n}", "P-100", f"buyer{n}")

    code, out = _import(path, "aurora", capsys)

    assert code == 3, out
    assert "created 3, updated 0, unchanged 0, rejected 1" in out
    assert "row 5: 'six' is not a score from 1 to 5" in out
    assert dict(Review.objects.filter(shop=shop).values_list("external_id", "level")) == {
        "AE-R1": "positive",
        "AE-R2": "medium",
        "AE-R3": "negative",
    }
    # AliExpress times are the shop's local time (Asia/Shanghai).
    posted = Review.objects.get(external_id="AE-R1").posted_at
    assert posted == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


def test_a_file_without_a_time_column_is_refused_whole(shop, tmp_path, capsys):
    path = tmp_path / "reviews.csv"
    path.write_text("Review ID,Rating\nX-1,5\n")

    code, out = _import(path, "aurora", capsys)

    assert code == 2
    assert "no review time column" in out and "--map" in out
    assert not Review.objects.exists()

    code, out = _import(path, "aurora", capsys, "--map", "Review ID=external_id,Rating=-")

    assert code == 2


def _post_review(shop: Shop, payload: dict, secret: str | None = None):
    body = json.dumps(payload).encode()
    return Client().post(
        "/api/v1/inbound/reviews",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=secret or shop.webhook_secret, body=body),
    )


def test_the_review_webhook_is_signed_and_idempotent(shop, owner, product, rival):
    _delivered(shop, "AE-9", "P-100", "ivan")
    review = {
        "external_id": "AE-R9",
        "posted_at": "2026-11-28T09:00:00+03:00",
        "rating": 2,
        "text": "Lamp flickers",
        "order_external_id": "AE-9",
    }
    assert _post_review(shop, review, secret=rival.shop.webhook_secret).status_code == 401
    assert not Review.objects.exists()

    first = _post_review(shop, review)
    again = _post_review(shop, review)

    assert first.status_code == 201, first.content
    assert first.json()["level"] == "negative" and first.json()["task_id"]
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert Review.objects.count() == 1 and ReviewTask.objects.count() == 1
    assert CallTask.objects.filter(reason=CallReason.NEGATIVE_REVIEW).count() == 1

    # The buyer changed the review to five stars: the task closes as "review updated".
    updated = _post_review(shop, {**review, "rating": 5, "text": "Replaced, works now"})

    assert updated.status_code == 200 and updated.json()["outcome"] == "updated"
    assert ReviewTask.objects.get().status == "review_updated"

    for bad in ({**review, "rating": 9}, {**review, "posted_at": "yesterday"}, {"x": 1}):
        before = Review.objects.values_list("rating", "text").get()
        assert _post_review(shop, bad).status_code == 400
        assert Review.objects.values_list("rating", "text").get() == before
    no_score = {"external_id": "AE-R10", "posted_at": "2026-11-28T09:00:00+03:00"}
    assert _post_review(shop, no_score).status_code == 400


def test_the_review_task_state_machine(shop, owner, pre_agent, product):
    _delivered(shop, "AE-7", "P-100", "olga")
    assert _post_review(
        shop,
        {"external_id": "AE-R7", "posted_at": "2026-11-28T09:00:00Z", "rating": 1,
         "order_external_id": "AE-7", "text": "Broken on arrival"},
    ).status_code == 201  # fmt: skip
    task = ReviewTask.objects.get()
    client = login_client(pre_agent)  # Lily owns the lamp
    url = f"/api/v1/care/reviews/tasks/{task.pk}/outcome"

    def move(status: str, **extra):
        return client.post(
            url, data=json.dumps({"status": status, **extra}), content_type="application/json"
        )

    assert move("review_updated").status_code == 400  # not contacted yet
    contacted = move(
        "contacted",
        note="Called, sending a new one",
        compensation_kind="reshipment",
        compensation_amount="0",
    )
    assert contacted.status_code == 200, contacted.content
    assert contacted.json()["next_steps"] == ["review_updated", "resolved"]
    assert contacted.json()["compensation_kind"] == "reshipment"
    assert contacted.json()["compensation_currency"] == "USD"
    assert move("contacted").status_code == 400
    page = login_client(pre_agent).post(
        f"/care/reviews/tasks/{task.pk}/", {"status": "resolved", "note": "Buyer happy"}
    )
    assert page.status_code == 302
    assert move("resolved").status_code == 400  # closed
    task.refresh_from_db()
    assert task.status == "resolved" and task.closed_at is not None and task.owner == pre_agent
    steps = list(ReviewTaskStep.objects.filter(task=task).values_list("status", "actor__username"))
    assert steps == [("open", None), ("contacted", "lily"), ("resolved", "lily")]
    detail = client.get(f"/api/v1/care/reviews/tasks/{task.pk}").json()
    assert [s["status"] for s in detail["steps"]] == ["open", "contacted", "resolved"]


def test_reaching_the_buyer_on_the_phone_marks_the_review_contacted(shop, owner, product):
    _delivered(shop, "AE-8", "P-100", "petr")
    _post_review(
        shop,
        {"external_id": "AE-R8", "posted_at": "2026-11-28T09:00:00Z", "rating": 1,
         "order_external_id": "AE-8"},
    )  # fmt: skip
    call = CallTask.objects.get(reason=CallReason.NEGATIVE_REVIEW)

    log_call(actor=owner, task=call, outcome="no_answer")
    assert ReviewTask.objects.get().status == "open"
    calls_page = login_client(owner).get("/care/calls/").content.decode()
    assert f'data-call="review:{ReviewTask.objects.get().review_id}"' in calls_page
    log_call(actor=owner, task=call, outcome="reached", note="Will reship")

    assert ReviewTask.objects.get().status == "contacted"
    assert CallTask.objects.get(pk=call.pk).done_at is not None
