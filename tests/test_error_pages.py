"""A refused or missing page says why, inside the workbench, in the user's language."""

from __future__ import annotations

from django.test import Client

from tests.conftest import login_client


def test_forbidden_page_keeps_the_workbench_and_says_why(shop, pre_agent):
    client = login_client(pre_agent)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = client.get("/orders/import/")
    fragment = client.get("/orders/import/", headers={"HX-Request": "true"})

    assert page.status_code == 403
    html = page.content.decode()
    assert "Not for this account" in html
    assert 'class="topbar"' in html  # still inside the workbench, with its navigation
    assert fragment.status_code == 403
    assert fragment.content.decode().startswith('<p class="errorlist">')


def test_not_found_page_in_chinese(shop, owner):
    response = login_client(owner).get("/orders/999999/")

    assert response.status_code == 404
    assert "找不到" in response.content.decode()
    assert Client().get("/no-such-page/").status_code == 404


def test_an_unhandled_error_is_logged_with_the_id_the_seller_sees(settings, caplog):
    settings.ROOT_URLCONF = "tests.urls_failing"
    client = Client(raise_request_exception=False)

    with caplog.at_level("ERROR", logger="kefu.errors"):
        response = client.get("/test-broken/", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-42"
    assert "<code>req-42</code>" in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "kefu.errors"]
    assert "request_id=req-42" in record.getMessage()
    assert "path=/test-broken/" in record.getMessage()
    assert record.exc_info is not None


def test_every_answer_carries_a_request_id(shop, owner):
    response = login_client(owner).get("/inbox/")

    assert len(response["X-Request-ID"]) == 16
    odd = login_client(owner).get("/inbox/", headers={"X-Request-ID": "<script>"})
    assert odd["X-Request-ID"] != "<script>"  # only a plain token is taken from outside


def test_pages_about_a_conversation_nobody_holds_yet_render(shop, owner):
    """Issue 10: the follow-up list and the new-case page failed for an unassigned chat."""
    from kefu.desk import marks as desk_marks
    from tests.helpers import buyer_says

    conv = buyer_says(shop, "Is anyone there?").conversation  # nobody online: unassigned
    assert conv.assignee is None
    desk_marks.add_mark(actor=owner, conversation=conv, color="blue", note="VIP")
    client = login_client(owner)

    follow_up = client.get("/marks/follow-up/")
    new_case = client.get(f"/metrics/cases/new/?conversation={conv.pk}")

    assert follow_up.status_code == 200
    assert "Ivan" in follow_up.content.decode()
    assert new_case.status_code == 200
    assert f"#{conv.pk}" in new_case.content.decode()


def test_a_reply_whose_author_was_removed_still_shows(shop, owner, pre_agent):
    from kefu.conversations.models import Message
    from kefu.desk.replies import send_reply
    from tests.helpers import buyer_says, online

    online(pre_agent)
    conv = buyer_says(shop, "Hello?").conversation
    send_reply(actor=pre_agent, conversation=conv, text="Hi, Lily here.")
    Message.objects.filter(author=pre_agent).update(author=None)

    page = login_client(owner).get(f"/inbox/{conv.pk}/messages/")

    assert page.status_code == 200
    assert "Hi, Lily here." in page.content.decode()
