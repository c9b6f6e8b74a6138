"""The case archive's pages (and the API beside them): save, search, export and scoping."""

from __future__ import annotations

from kefu.care.models import Case
from tests.conftest import login_client
from tests.metrics.factories import History, at


def test_pages_need_login(db):
    from django.test import Client

    for url in ("/metrics/cases/", "/metrics/cases/new/"):
        r = Client().get(url)
        assert r.status_code == 302 and "/login" in r["Location"]


def test_case_archive_save_search_export_and_scoping(shop, owner, pre_agent, after_agent, rival):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    conv = h.conv("b1")
    conv.assignee = pre_agent
    conv.save()
    client = login_client(owner)
    r = client.post(
        "/metrics/cases/new/",
        {
            "conversation": conv.pk,
            "date": "2026-03-02",
            "title": "Broken lamp, calm buyer",
            "event": "Lamp arrived cracked",
            "follow_up": "Sent photos request, reshipped",
            "outcome": "Five-star review",
            "outcome_kind": "resolved",
            "tags": "damage",
        },
    )
    assert r.status_code == 302
    case = Case.objects.get()
    assert (case.agent, case.agent_name, case.buyer_name) == (pre_agent, "Lily", "b1")
    assert "Broken lamp" in client.get("/metrics/cases/?q=cracked").content.decode()
    assert "Broken lamp" not in client.get("/metrics/cases/?q=refund").content.decode()
    csv = client.get("/metrics/cases/?export=csv").content.decode("utf-8-sig")
    assert "Lamp arrived cracked" in csv
    # Over the API, another shop sees nothing and cannot file against this conversation.
    assert login_client(rival).get("/api/v1/metrics/cases").json() == []
    r = login_client(rival).post(
        "/api/v1/metrics/cases",
        data={"title": "x", "event": "y", "conversation_id": conv.pk},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert [c["title"] for c in login_client(pre_agent).get("/api/v1/metrics/cases").json()] == [
        "Broken lamp, calm buyer"
    ]
    assert login_client(after_agent).get("/api/v1/metrics/cases").json() == []
    assert Case.objects.count() == 1
