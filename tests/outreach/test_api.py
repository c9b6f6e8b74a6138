"""The outreach API: preview before saving, refusals as 400 with nothing stored, results."""

from __future__ import annotations

import datetime as dt
import json

from kefu.outreach.models import Campaign, Segment
from tests.conftest import login_client
from tests.orders.factories import make_order

UTC = dt.UTC


def post(client, path, body):
    return client.post(
        f"/api/v1/outreach{path}", data=json.dumps(body), content_type="application/json"
    )


def test_preview_then_save_then_schedule(shop, owner, pre_agent):
    make_order(shop, "O1", buyer="ann", amount="300.00")
    make_order(shop, "O2", buyer="bob", amount="20.00")
    client = login_client(owner)
    preview = post(client, "/segments/preview", {"min_spend": "100"})
    assert preview.status_code == 200
    assert preview.json()["count"] == 1
    assert [b["name"] for b in preview.json()["sample"]] == ["Ann"]
    assert not Segment.objects.exists()  # a preview saves nothing
    saved = post(client, "/segments", {"name": "Big spenders", "filters": {"min_spend": "100"}})
    assert saved.status_code == 201 and saved.json()["buyers"] == 1
    body = {
        "name": "D11",
        "segment_id": saved.json()["id"],
        "texts": {"en": "Hi {name}!", "zh": "你好 {name}"},
        "language_order": ["zh", "en"],
        "starts_at": "2026-11-10T00:00:00Z",
    }
    created = post(client, "/campaigns", body)
    assert created.status_code == 201, created.content
    assert created.json()["language_order"] == ["zh", "en"]
    cid = created.json()["id"]
    assert post(client, f"/campaigns/{cid}/control", {"action": "pause"}).json()["status"] == (
        "paused"
    )
    assert post(client, f"/campaigns/{cid}/control", {"action": "pause"}).status_code == 400
    assert client.get(f"/api/v1/outreach/campaigns/{cid}/results").json() == []
    # A sub-account without the right is refused.
    assert post(login_client(pre_agent), "/segments/preview", {}).status_code == 403


def test_bad_campaigns_are_400_and_store_nothing(shop, owner):
    make_order(shop, "O1", buyer="ann")
    client = login_client(owner)
    seg = post(client, "/segments", {"name": "Paid", "filters": {"statuses": ["paid"]}}).json()
    base = {"name": "x", "segment_id": seg["id"], "starts_at": "2026-11-10T00:00:00Z"}
    for texts, extra in (
        ({"zh": "加我微信私下交易"}, {}),
        ({"en": "Hi {nmae}"}, {}),
        ({"en": "Hi"}, {"window_start": 20, "window_end": 8}),
        ({}, {}),
    ):
        response = post(client, "/campaigns", {**base, "texts": texts, **extra})
        assert response.status_code == 400, (texts, response.content)
    assert not Campaign.objects.exists()
    assert post(client, "/segments", {"name": "Empty", "filters": {}}).status_code == 400
    assert post(client, "/segments/preview", {"statuses": ["teleported"]}).status_code == 400


def test_a_start_time_with_an_offset_postgresql_refuses_is_stored_as_its_instant(shop, owner):
    from kefu.outreach.models import Campaign
    from kefu.outreach.selectors import SegmentFilters
    from kefu.outreach.services import save_segment

    segment = save_segment(
        actor=owner, name="paid", filters=SegmentFilters.from_json({"statuses": "paid"})
    )
    response = login_client(owner).post(
        "/api/v1/outreach/campaigns",
        json.dumps(
            {
                "name": "far east",
                "segment_id": segment.pk,
                "texts": {"en": "Hi {name}"},
                "starts_at": "2030-12-24T09:49:10+23:30",
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Campaign.objects.get().starts_at.isoformat() == "2030-12-23T10:19:10+00:00"
