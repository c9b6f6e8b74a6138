"""Issue 16 §1: the cause analysis charts are drawn by the vendored ECharts under the
Content-Security-Policy, in both languages, from complaints recorded through the services;
a surge raised by the minute watch shows in the workbench's alert bar."""

from __future__ import annotations

import pytest
from django.conf import settings

from kefu.care.complaints import ComplaintChange, ComplaintInput, open_complaint, update_complaint
from kefu.care.watch import watch_shop
from tests.browser.support import aurora_with_agent, sign_in
from tests.conftest import PASSWORD
from tests.helpers import add_product, buyer_says, online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INK = """el => {
  const c = el.querySelector('canvas');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
  return n;
}"""
SERIES = """el => echarts.getInstanceByDom(el).getOption().series.map(s => [s.name, s.data])"""


@pytest.fixture
def complaints(transactional_db):
    shop, agent = aurora_with_agent(login="max", group="after_sale", display_name="Max")
    from kefu.accounts.models import User

    owner = User.objects.get(username="owner")
    add_product(shop, "P-1", "Desk lamp")
    online(agent)
    for i, (cause, kept) in enumerate(
        [("quality", True), ("quality", False), ("quality", None), ("logistics_delay", True)]
    ):
        conv = buyer_says(shop, "It broke", buyer=f"b-{i}", product="P-1").conversation
        made = open_complaint(actor=owner, conversation=conv, data=ComplaintInput(cause=cause))
        if kept is not None:
            update_complaint(
                actor=owner,
                complaint=made,
                change=ComplaintChange(status="resolved", resolution="kept" if kept else "lost"),
            )
    watch_shop(shop=shop)  # four complaints in the hour, none usual: a surge
    return shop


@pytest.mark.parametrize(
    ("language", "names"),
    [("en", ["Complaints", "Turned around"]), ("zh-hans", ["投诉", "已挽回"])],
)
def test_the_cause_charts_are_drawn_in_both_languages(
    complaints, live_asgi, browser, language, names
):
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_asgi, "owner", PASSWORD, language)
    page.goto(f"{live_asgi}/care/complaints/analysis/")
    page.wait_for_selector("[data-chart=weeks][data-chart-drawn]", timeout=15_000)
    causes = page.locator("[data-chart=causes]")
    series = causes.evaluate(SERIES)
    assert [s[0] for s in series] == names
    assert series[0][1] == [3, 1] and series[1][1] == [1, 1]  # quality, then logistics
    assert causes.evaluate(INK) > 2000
    assert page.locator("[data-chart=weeks]").evaluate(INK) > 2000
    bar = page.locator("#care-alerts")
    bar.wait_for(state="visible")
    assert ("Complaint surge" if language == "en" else "投诉激增") in bar.inner_text()
    short = "zh" if language == "zh-hans" else "en"
    page.screenshot(path=str(settings.DATA_DIR / f"care-analysis-{short}.png"), full_page=True)
    # The `browser` fixture fails the test on any Content-Security-Policy refusal.
