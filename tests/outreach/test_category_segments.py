"""Issue 17 item 1, "categories bought": a product's category comes from the seller's product
file (upload page), the product webhook, the product page and the products API; a segment of
the buyers who bought from one or several categories is counted, sampled and saved. Orders
arrive by the signed order webhook, one before its product was imported."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from django.utils import translation

from kefu.catalog.models import Product
from kefu.integrations.signing import signed_headers
from kefu.outreach.models import Segment
from tests.conftest import login_client
from tests.helpers import post_order_signed

pytestmark = pytest.mark.django_db

LONG = "x" * 101  # Product.category holds 100 characters

PRODUCT_FILE = (
    "Product ID,Title,SKU,Price,Category\n"
    "P-1,Rose face cream,SKU-CREAM,129.00,Face cream\n"
    "P-2,Amino cleanser,SKU-WASH,59.00,Cleanser\n"
    "P-3,Night cream,SKU-NIGHT,99.00,Face cream\n"
    "P-4,Desk lamp,SKU-LAMP,20.00,\n"
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _english_client(user) -> Client:
    client = login_client(user)
    client.cookies["django_language"] = "en"  # the pages default to zh-Hans
    return client


def _upload(owner, text: str, name: str = "products.csv", **form: object):
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = name
    client = _english_client(owner)
    return client.post("/products/import/", {"file": upload, **form}, HTTP_ACCEPT_LANGUAGE="en")


def _order(shop, ext: str, buyer: str, *skus: str) -> None:
    body = {
        "external_id": ext,
        "buyer": {"external_id": buyer, "name": buyer.title()},
        "status": "paid",
        "currency": "USD",
        "total_amount": "50.00",
        "paid_amount": "50.00",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"sku": sku, "title": f"item {sku}", "unit_price": "25.00"} for sku in skus],
    }
    response = post_order_signed("/inbound", body, shop)
    assert response.status_code in (200, 201), response.content


def _product_hook(shop, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    response = Client().post(
        "/api/v1/catalog/inbound",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    )
    return response.status_code, response.json()


def _preview(client, **filters) -> dict:
    response = client.post(
        "/api/v1/outreach/segments/preview",
        data=json.dumps(filters),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _categories(shop) -> dict[str, str]:
    return dict(Product.objects.filter(shop=shop).values_list("external_id", "category"))


def test_a_segment_by_category_holds_the_buyers_who_bought_from_it(shop, owner):
    # Bought before the product file came in: linked (and categorised) by the import.
    _order(shop, "O-0", "early", "SKU-NIGHT")
    response = _upload(owner, PRODUCT_FILE)
    assert response.status_code == 200, response.content
    assert _categories(shop) == {
        "P-1": "Face cream",
        "P-2": "Cleanser",
        "P-3": "Face cream",
        "P-4": "",
    }
    _order(shop, "O-1", "ann", "SKU-CREAM")
    _order(shop, "O-2", "bob", "SKU-WASH")
    _order(shop, "O-3", "cat", "SKU-WASH", "SKU-CREAM")
    _order(shop, "O-4", "dan", "SKU-LAMP")  # a product without a category
    _order(shop, "O-5", "eve", "SKU-GIFT")  # an item no product of the catalogue has

    api = _english_client(owner)
    cream = _preview(api, categories=["Face cream"])
    assert cream["count"] == 3
    assert sorted(b["name"] for b in cream["sample"]) == ["Ann", "Cat", "Early"]
    both = _preview(api, categories=["Face cream", "Cleanser"])
    assert sorted(b["name"] for b in both["sample"]) == ["Ann", "Bob", "Cat", "Early"]
    assert _preview(api, categories=["Cleanser"])["count"] == 2
    assert _preview(api, categories=["face cream"])["count"] == 0  # labels match exactly
    assert _preview(api, categories=["Lamps"])["count"] == 0
    # With another filter: every filter must hold.
    assert _preview(api, categories=["Cleanser"], never_reordered=True)["count"] == 2

    # The segment page offers the shop's categories, counts, and saves the choice.
    page = _english_client(owner)
    shown = page.get("/outreach/").content.decode()
    assert '<option value="Cleanser">' in shown and '<option value="Face cream">' in shown
    counted = page.get("/outreach/", {"preview": "1", "categories": ["Cleanser", "Face cream"]})
    assert counted.status_code == 200
    body = counted.content.decode()
    assert "4 buyers" in body
    assert body.count('<input type="hidden" name="categories"') == 2
    saved = page.post(
        "/outreach/segments",
        {"name": "Skin care buyers", "categories": ["Cleanser", "Face cream"]},
    )
    assert saved.status_code == 302, saved.content
    segment = Segment.objects.get(shop=shop, name="Skin care buyers")
    assert segment.filters["categories"] == ["Cleanser", "Face cream"]
    listed = {s["name"]: s for s in api.get("/api/v1/outreach/segments").json()}
    assert listed["Skin care buyers"]["buyers"] == 4

    # Saved by the API too; re-evaluated when read: a product moved to the category adds
    # its buyer.
    made = api.post(
        "/api/v1/outreach/segments",
        data=json.dumps({"name": "Cleanser", "filters": {"categories": ["Cleanser"]}}),
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["buyers"] == 2
    assert _product_hook(shop, {"external_id": "P-4", "category": "Cleanser"})[0] == 200
    listed = {s["name"]: s for s in api.get("/api/v1/outreach/segments").json()}
    assert listed["Cleanser"]["buyers"] == 3  # + dan


def test_every_seller_path_sets_the_category_and_a_file_without_it_keeps_it(shop, owner):
    assert _upload(owner, PRODUCT_FILE).status_code == 200
    # A later file without the column (a price update) keeps the categories.
    again = _upload(owner, "Product ID,Title,Price\nP-1,Rose face cream,139.00\n")
    assert again.status_code == 200
    # An empty cell keeps the stored value too, as for the other optional columns.
    assert _upload(owner, "Product ID,Title,Категория\nP-2,Amino cleanser,\n").status_code == 200
    categories = _categories(shop)
    assert (categories["P-1"], categories["P-2"]) == ("Face cream", "Cleanser")
    assert Product.objects.get(shop=shop, external_id="P-1").price == 139

    # Headers in Chinese, Russian and Spanish are read as the category.
    for header, label in (("类目", "面霜"), ("Категория", "Крем"), ("Categoría", "Crema")):
        uploaded = _upload(owner, f"Product ID,Title,{header}\nP-3,Night cream,{label}\n")
        assert uploaded.status_code == 200
        assert _categories(shop)["P-3"] == label

    # The product webhook: omitted keeps, a value sets, "" clears.
    assert _product_hook(shop, {"external_id": "P-1", "stock": 5})[0] == 200
    assert _categories(shop)["P-1"] == "Face cream"
    status, answer = _product_hook(
        shop, {"external_id": "P-9", "title": "Mask", "category": "Mask"}
    )
    assert status == 201 and answer["outcome"] == "created"
    assert _categories(shop)["P-9"] == "Mask"
    assert _product_hook(shop, {"external_id": "P-9", "category": ""})[0] == 200
    assert _categories(shop)["P-9"] == ""

    # The products API reads and changes it.
    api = _english_client(owner)
    p1 = Product.objects.get(shop=shop, external_id="P-1")
    assert api.get(f"/api/v1/catalog/products/{p1.pk}").json()["category"] == "Face cream"
    patched = api.patch(
        f"/api/v1/catalog/products/{p1.pk}",
        data=json.dumps({"category": " Day cream "}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["category"] == "Day cream"
    created = api.post(
        "/api/v1/catalog/products",
        data=json.dumps({"external_id": "P-10", "title": "Toner", "category": "Toner"}),
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["category"] == "Toner"

    # The product page: the form offers the shop's categories and saves the field.
    page = _english_client(owner)
    form = page.get(f"/products/{p1.pk}/edit").content.decode()
    assert 'name="category" value="Day cream"' in form and '<option value="Toner">' in form
    saved = page.post(
        f"/products/{p1.pk}/edit",
        {"external_id": "P-1", "title": "Rose face cream", "price": "139", "category": "Cream"},
    )
    assert saved.status_code == 302, saved.content
    assert _categories(shop)["P-1"] == "Cream"
    listing = page.get("/products/").content.decode()
    assert "Cream" in listing


def test_bad_category_input_is_refused_and_changes_nothing(shop, owner):
    assert _upload(owner, PRODUCT_FILE).status_code == 200
    before = _categories(shop)
    p1 = Product.objects.get(shop=shop, external_id="P-1")

    # The product webhook: too long, or not text.
    for category, reason in ((LONG, "category"), (123, "category"), (["a"], "category")):
        status, answer = _product_hook(shop, {"external_id": "P-1", "category": category})
        assert status == 400 and answer["detail"] == "invalid product", answer
        assert reason in json.dumps(answer["errors"]), answer
    # The products API and the product page.
    api = _english_client(owner)
    response = api.patch(
        f"/api/v1/catalog/products/{p1.pk}",
        data=json.dumps({"category": LONG}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    page = api.post(
        f"/products/{p1.pk}/edit",
        {"external_id": "P-1", "title": "Rose face cream", "category": LONG},
    )
    assert page.status_code == 400
    assert "Category is at most 100 characters." in page.content.decode()
    # A product file: the row with a too-long category is rejected with its reason, the
    # other rows are stored.
    mixed = _upload(
        owner, f"Product ID,Title,Category\nP-1,Rose face cream,{LONG}\nP-5,Mask,Mask\n"
    )
    assert "category longer than 100 characters" in mixed.content.decode()
    # A column mapped to a field Kefu does not have: the whole upload is refused.
    refused = _upload(
        owner,
        "Product ID,Title,Kind\nP-6,Toner,Toner\n",
        header=["Product ID", "Title", "Kind"],
        field=["external_id", "title", "categry"],
    )
    assert refused.status_code == 400
    assert "categry is not a field Kefu imports" in refused.content.decode()
    assert not Product.objects.filter(shop=shop, external_id="P-6").exists()
    assert {k: v for k, v in _categories(shop).items() if k != "P-5"} == before
    assert _categories(shop)["P-5"] == "Mask"

    # Segment filters: a too-long category, too many, or not a list.
    for filters in ({"categories": [LONG]}, {"categories": [f"c{n}" for n in range(51)]},
                    {"categories": "Face cream"}):  # fmt: skip
        response = api.post(
            "/api/v1/outreach/segments",
            data=json.dumps({"name": "Bad", "filters": filters}),
            content_type="application/json",
        )
        assert response.status_code == 400, (filters, response.content)
    assert not Segment.objects.filter(shop=shop).exists()
    shown = api.get("/outreach/", {"preview": "1", "categories": [LONG]})
    assert shown.status_code == 400
    assert "A category is at most 100 characters." in shown.content.decode()
    saved = api.post("/outreach/segments", {"name": "Bad", "categories": [LONG]})
    assert saved.status_code == 400
    assert not Segment.objects.filter(shop=shop).exists()
