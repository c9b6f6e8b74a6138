"""The metrics tests' shared history: three buyers over two days, one guided order."""

from __future__ import annotations

import pytest

from kefu.metrics import refresh
from tests.metrics.factories import History, at


@pytest.fixture
def history(shop, pre_agent, after_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 5), pre_agent)
    h.buyer_says("b2", at(2, 11), group="after_sale")
    h.reply("b2", at(2, 11, 30), after_agent, group="after_sale")
    h.buyer_says("b3", at(3, 9))
    h.order("b1", at(2, 12), "40.00")
    refresh.rebuild_shop(shop=shop)
    return h
