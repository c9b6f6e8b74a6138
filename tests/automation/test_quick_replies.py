"""Quick replies are an agent's own."""

from kefu.automation import selectors
from kefu.automation.quick_replies import create_quick_reply
from tests.conftest import login_client


def test_quick_replies_are_personal(pre_agent, after_agent):
    mine = create_quick_reply(actor=pre_agent, title="thanks", body="Thank you, {buyer_name}!")
    assert list(selectors.quick_replies_of(pre_agent)) == [mine]
    assert list(selectors.quick_replies_of(after_agent)) == []


def test_an_agent_edits_a_quick_reply_over_the_api(pre_agent, after_agent):
    mine = create_quick_reply(actor=pre_agent, title="thanks", body="Thank you!")
    client = login_client(pre_agent)

    response = client.put(
        f"/api/v1/automation/quick-replies/{mine.pk}",
        {"title": "thanks", "body": "Thank you, {buyer_name}!", "language": "en"},
        content_type="application/json",
    )

    assert response.status_code == 200
    mine.refresh_from_db()
    assert (mine.body, mine.language) == ("Thank you, {buyer_name}!", "en")
    # Someone else's quick reply is not theirs to see, let alone edit.
    other = login_client(after_agent).put(
        f"/api/v1/automation/quick-replies/{mine.pk}",
        {"title": "x", "body": "y"},
        content_type="application/json",
    )
    assert other.status_code == 404
    mine.refresh_from_db()
    assert mine.title == "thanks"


def test_an_edit_that_breaks_a_platform_rule_is_refused_and_changes_nothing(pre_agent):
    mine = create_quick_reply(actor=pre_agent, title="thanks", body="Thank you!")

    response = login_client(pre_agent).put(
        f"/api/v1/automation/quick-replies/{mine.pk}",
        {"title": "thanks", "body": "Pay by bank transfer outside the platform for 5% off"},
        content_type="application/json",
    )

    assert response.status_code == 400
    mine.refresh_from_db()
    assert mine.body == "Thank you!"
