"""The review upload page maps the columns of a marketplace's review export that Kefu does not
recognise in the browser, as the order and product upload pages do (catalog.ColumnMapping):
the mapping is remembered per shop for the next upload, shown on the page and cleared there; a
mapping Kefu cannot use is refused with its reason and nothing is stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kefu.care.models import Review, ReviewTask
from kefu.catalog.models import ColumnMapping
from kefu.cli import main
from kefu.orders import cli as orders_cli
from tests.conftest import login_client
from tests.helpers import post_order_signed

pytestmark = pytest.mark.django_db

# A review export whose headers Kefu does not know (a German marketplace's seller centre).
HEADERS = ["Bewertung Nr", "Bestellung", "Sterne", "Kommentar", "Datum", "Land"]


def _reviews_csv(*rows: str) -> SimpleUploadedFile:
    text = ",".join(HEADERS) + "\n" + "\n".join(rows) + "\n"
    return SimpleUploadedFile("bewertungen.csv", text.encode(), content_type="text/csv")


def _en(user):
    client = login_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _delivered(shop, external_id: str) -> None:
    at = timezone.now() - dt.timedelta(days=3)
    response = post_order_signed(
        "/inbound",
        {
            "external_id": external_id,
            "buyer": {"external_id": f"b-{external_id}", "name": external_id, "language": "de"},
            "status": "FINISH",
            "currency": shop.currency,
            "total_amount": "20.00",
            "paid_amount": "20.00",
            "placed_at": (at - dt.timedelta(days=4)).isoformat(),
            "delivered_at": at.isoformat(),
            "items": [{"product_external_id": "P-100", "quantity": 1, "unit_price": "20"}],
        },
        shop,
    )
    assert response.status_code == 201, response.content


MAPPED = ["external_id", "order_external_id", "rating", "text", "posted_at", "-"]


def test_reviews_mapped_on_the_page_then_the_next_upload_needs_no_mapping(
    shop, owner, product, tmp_path, capsys, monkeypatch
):
    for order in ("DE-1", "DE-2", "DE-3"):
        _delivered(shop, order)
    client = _en(owner)

    # 1. No column Kefu reads as the time: refused whole, the page offers the mapping.
    response = client.post(
        "/care/reviews/import/", {"file": _reviews_csv("R-1,DE-1,1,kaputt,2026-11-25 10:00,DE")}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "no review time column" in page
    assert 'id="column-mapping"' in page
    assert '<input type="hidden" name="header" value="Datum">' in page
    assert '<option value="posted_at">Review time (posted_at)</option>' in page
    assert "--map" not in page
    assert not Review.objects.filter(shop=shop).exists()
    assert not ColumnMapping.objects.filter(shop=shop).exists()

    # 2. The seller maps the columns and uploads the same file again: the review and its task.
    response = client.post(
        "/care/reviews/import/",
        {
            "file": _reviews_csv("R-1,DE-1,1,kaputt,2026-11-25 10:00,DE"),
            "header": HEADERS,
            "field": MAPPED,
        },
    )
    assert response.status_code == 200, response.content.decode()[:800]
    assert "created 1" in response.content.decode()
    assert 'id="column-mapping"' not in response.content.decode()
    review = Review.objects.get(shop=shop, external_id="R-1")
    assert (review.rating, review.level, review.text, review.order.external_id) == (
        1,
        "negative",
        "kaputt",
        "DE-1",
    )
    # Shop time (Asia/Shanghai): 10:00 there is 02:00 UTC.
    assert review.posted_at == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    assert ReviewTask.objects.filter(review=review).exists()
    remembered = ColumnMapping.objects.get(shop=shop, kind="reviews").mapping
    assert remembered == dict(zip(HEADERS, MAPPED, strict=True))

    # 3. The next export of that layout imports without a question.
    response = client.post(
        "/care/reviews/import/",
        {"file": _reviews_csv("R-2,DE-2,5,super,2026-11-26 09:00,DE")},
    )
    assert response.status_code == 200
    assert "created 1" in response.content.decode()
    assert 'id="column-mapping"' not in response.content.decode()
    assert Review.objects.get(shop=shop, external_id="R-2").level == "positive"

    # 3b. So does the terminal import of that layout (a scheduled `kefu import reviews`).
    export = tmp_path / "bewertungen.csv"
    export.write_text(",".join(HEADERS) + "\nR-4,DE-3,2,naja,2026-11-26 11:00,DE\n")
    monkeypatch.setattr(orders_cli, "import_subparsers", None)
    assert main(["import", "reviews", str(export), "--shop", "aurora"]) == 0
    assert "created 1" in capsys.readouterr().out
    assert Review.objects.get(shop=shop, external_id="R-4").order.external_id == "DE-3"

    # 4. The page shows the remembered mapping and clears it; the layout is refused again.
    page = client.get("/care/reviews/import/").content.decode()
    assert "Datum → Review time" in page
    assert "Land → ignored" in page
    assert client.post("/care/reviews/import/", {"action": "forget"}).status_code == 302
    assert not ColumnMapping.objects.filter(shop=shop, kind="reviews").exists()
    response = client.post(
        "/care/reviews/import/", {"file": _reviews_csv("R-3,DE-3,3,ok,2026-11-26 09:00,DE")}
    )
    assert response.status_code == 400
    assert not Review.objects.filter(external_id="R-3").exists()
    assert Review.objects.filter(shop=shop).count() == 3


def test_a_bad_review_mapping_is_refused_and_nothing_is_stored(shop, owner, product):
    _delivered(shop, "DE-1")
    client = _en(owner)
    row = "R-1,DE-1,1,kaputt,2026-11-25 10:00,DE"

    # A field Kefu does not have.
    response = client.post(
        "/care/reviews/import/",
        {"file": _reviews_csv(row), "header": ["Datum"], "field": ["when"]},
    )
    assert response.status_code == 400
    assert "when is not a field Kefu imports" in response.content.decode()

    # A mapping naming a column the file does not have.
    response = client.post(
        "/care/reviews/import/",
        {"file": _reviews_csv(row), "header": ["Zeit", "Datum"], "field": ["text", "posted_at"]},
    )
    assert response.status_code == 400
    assert "names columns the file does not have: Zeit" in response.content.decode()

    # The comment read as the time: every row refused with its reason, nothing kept.
    fields = ["external_id", "order_external_id", "rating", "posted_at", "-", "-"]
    response = client.post(
        "/care/reviews/import/",
        {"file": _reviews_csv(row), "header": HEADERS, "field": fields},
    )
    page = response.content.decode()
    assert "rejected 1" in page
    assert "Every row was rejected, so nothing was stored." in page
    assert "row 2:" in page and "kaputt" in page

    assert not Review.objects.filter(shop=shop).exists()
    assert not ReviewTask.objects.exists()
    assert not ColumnMapping.objects.filter(shop=shop).exists()


def test_review_mappings_are_kept_per_shop_and_kind(shop, owner, other_shop, rival, product):
    _delivered(shop, "DE-1")
    response = _en(owner).post(
        "/care/reviews/import/",
        {
            "file": _reviews_csv("R-1,DE-1,4,gut,2026-11-25 10:00,DE"),
            "header": HEADERS,
            "field": MAPPED,
        },
    )
    assert response.status_code == 200
    assert set(ColumnMapping.objects.values_list("shop__slug", "kind")) == {("aurora", "reviews")}
    # Another shop's page neither shows nor uses it; the order upload page neither.
    assert "Datum" not in _en(rival).get("/care/reviews/import/").content.decode()
    response = _en(rival).post(
        "/care/reviews/import/", {"file": _reviews_csv("R-9,X-1,4,gut,2026-11-25 10:00,DE")}
    )
    assert response.status_code == 400
    assert "Datum →" not in _en(owner).get("/orders/import/").content.decode()


def test_a_sub_account_without_the_settings_right_cannot_map_or_clear(shop, owner, pre_agent):
    client = login_client(pre_agent)
    assert client.get("/care/reviews/import/").status_code == 403
    assert client.post("/care/reviews/import/", {"action": "forget"}).status_code == 403
    response = client.post(
        "/care/reviews/import/",
        {"file": _reviews_csv("R-1,DE-1,1,x,2026-11-25 10:00,DE"), "header": HEADERS,
         "field": MAPPED},
    )  # fmt: skip
    assert response.status_code == 403
    assert not ColumnMapping.objects.exists()


def test_a_remembered_choice_can_be_set_back_to_what_kefu_reads_by_itself(shop, owner, product):
    for order in ("CN-1", "CN-2"):
        _delivered(shop, order)
    client = _en(owner)
    with_level = ["评价ID", "订单编号", "评分", "评价", "评价内容", "评价时间", "国家"]
    upload = "\n".join([",".join(with_level), "R-1,CN-1,1,差评,坏了,2026-11-25 10:00,CN"]).encode()
    # The seller has the score column ignored (the level column is read instead).
    response = client.post(
        "/care/reviews/import/",
        {
            "file": SimpleUploadedFile("a.csv", upload),
            "header": with_level,
            "field": ["external_id", "order_external_id", "-", "level_label", "text",
                      "posted_at", "-"],
        },
    )  # fmt: skip
    assert response.status_code == 200, response.content.decode()[:800]
    assert ColumnMapping.objects.get(shop=shop, kind="reviews").mapping == {
        "评分": "-",
        "国家": "-",
    }

    # A later export without the level column: refused, the score shown as ignored.
    headers = ["评价ID", "订单编号", "评分", "评价内容", "评价时间"]
    later = "\n".join([",".join(headers), "R-2,CN-2,5,很好,2026-11-26 09:00"]).encode()
    response = client.post("/care/reviews/import/", {"file": SimpleUploadedFile("b.csv", later)})
    assert response.status_code == 400
    assert "no score and no level column" in response.content.decode()

    # The seller sets the score column back to Score on the form: the file imports with it,
    # and the shop's mapping now reads it as the score.
    response = client.post(
        "/care/reviews/import/",
        {
            "file": SimpleUploadedFile("b.csv", later),
            "header": headers,
            "field": ["external_id", "order_external_id", "rating", "text", "posted_at"],
        },
    )
    assert response.status_code == 200, response.content.decode()[:800]
    assert "created 1" in response.content.decode()
    assert Review.objects.get(shop=shop, external_id="R-2").rating == 5
    assert ColumnMapping.objects.get(shop=shop, kind="reviews").mapping["评分"] == "rating"
