"""Issue 13 §2: the metrics dashboard's charts are drawn by the vendored ECharts under the
Content-Security-Policy, with named axes, units, a legend and values, in both languages.

The shop is the demo shop (Asia/Shanghai): its ten days of history go through the same
services as live use (buyer messages, replies, resolutions) and the metrics rebuild."""

from __future__ import annotations

import pytest
from django.conf import settings

from kefu.demo.seed import load_demo
from tests.browser.support import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "kefu-demo-2026"

OPTIONS = """el => {
  const o = echarts.getInstanceByDom(el).getOption();
  return {
    x: o.xAxis.map(a => a.name),
    days: o.xAxis[0].data,
    y: o.yAxis.map(a => a.name),
    ticks: o.yAxis.map(a => {
      const f = a.axisLabel.formatter;
      return typeof f === "string" ? f : null;
    }),
    values: o.series.map(s => s.label.show),
    series: o.series.map(s => [s.type, s.name, s.data.length]),
    legend: o.legend.length,
  };
}"""

# Non-blank pixels on the chart's canvas: axes, bars and labels were drawn, not an empty box.
INK = """el => {
  const c = el.querySelector('canvas');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
  return n;
}"""


@pytest.fixture
def demo(transactional_db):
    # Built before Playwright starts its event loop in this thread (the ORM refuses inside it).
    return load_demo().shop


def _dashboard(browser, base: str, language: str):
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, base, "aurora-owner", DEMO_PASSWORD, language)
    page.goto(f"{base}/metrics/?by=day")
    page.wait_for_selector("[data-chart=times][data-chart-drawn]", timeout=15_000)
    return page


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            {
                "x": "Day (Asia/Shanghai)",
                "volume_y": ["Buyers", "Reply rate (%)"],
                "volume_series": ["Reception count", "24 h reply rate"],
                "times_series": ["First response time", "Average response time"],
                "units": {
                    "Seconds": "{value} s",
                    "Minutes": "{value} min",
                    "Hours": "{value} h",
                    "Days": "{value} d",
                },
            },
        ),
        (
            "zh-hans",
            {
                "x": "日期（Asia/Shanghai）",
                "volume_y": ["买家数", "回复率（%）"],
                "volume_series": ["接待人数", "24小时回复率"],
                "times_series": ["首次响应时间", "平均响应时间"],
                "units": {
                    "秒": "{value}秒",
                    "分钟": "{value}分钟",
                    "小时": "{value}小时",
                    "天": "{value}天",
                },
            },
        ),
    ],
)
def test_dashboard_charts_have_axes_units_and_legend(demo, live_asgi, browser, language, words):
    page = _dashboard(browser, live_asgi, language)
    volume = page.locator("[data-chart=volume]")
    times = page.locator("[data-chart=times]")

    v = volume.evaluate(OPTIONS)
    assert v["x"] == [words["x"]] and len(v["days"]) == 7  # the last seven local days
    assert v["y"] == words["volume_y"] and v["legend"] == 1
    assert v["ticks"][1] == "{value}%" and v["values"] == [True, True]  # values written on
    assert v["series"] == [
        ["bar", words["volume_series"][0], 7],
        ["line", words["volume_series"][1], 7],
    ]
    t = times.evaluate(OPTIONS)
    # The time axis is named in its unit and each tick carries it ("2 h", "2小时").
    assert t["x"] == [words["x"]] and len(t["y"]) == 1
    assert t["ticks"] == [words["units"][t["y"][0]]]
    assert [s[1] for s in t["series"]] == words["times_series"]
    assert volume.evaluate(INK) > 2000 and times.evaluate(INK) > 2000

    # A tooltip is drawn on the canvas, not as HTML with style attributes the CSP refuses.
    volume.hover()
    times.hover()
    page.wait_for_timeout(300)
    # The figures stay readable without the canvas: the table holds each day.
    assert page.locator(".chart-table tbody tr").count() == 7

    short = "zh" if language == "zh-hans" else "en"
    # Kept in the data directory for a person to look at (KEFU_DATA_DIR).
    page.screenshot(path=str(settings.DATA_DIR / f"dashboard-{short}.png"), full_page=True)
    # The `browser` fixture fails the test on any Content-Security-Policy refusal.
