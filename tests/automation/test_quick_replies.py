"""Quick replies are an agent's own."""

from kefu.automation import selectors
from kefu.automation.quick_replies import create_quick_reply


def test_quick_replies_are_personal(pre_agent, after_agent):
    mine = create_quick_reply(actor=pre_agent, title="thanks", body="Thank you, {buyer_name}!")
    assert list(selectors.quick_replies_of(pre_agent)) == [mine]
    assert list(selectors.quick_replies_of(after_agent)) == []
