"""Placeholder filling: values, language formats and visible gaps."""

from kefu.automation.placeholders import PLACEHOLDERS, PlaceholderContext, render

from .conftest import FULL


def test_render_fills_every_placeholder():
    body = " ".join("{" + name + "}" for name in PLACEHOLDERS)
    out = render(body, FULL, "en")
    assert out.text == (
        "Anna Lily 8100234 LP001, LP002 Cainiao March 14, 2026 "
        "https://t.example/LP001 3-20 February 2026 Desk lamp 72 24 months "
        "desks and bedside tables Shenzhen within 2 days a warmer light and a metal base"
    )
    assert not out.has_gaps


def test_dates_and_lists_follow_the_language():
    assert (
        render("{arrival_date}|{order_month}|{tracking_numbers}", FULL, "zh-hans").text
        == "2026年3月14日|2026年2月|LP001、LP002"
    )
    assert render("{arrival_date}|{order_month}", FULL, "ru").text == "14.03.2026|феврале 2026"
    assert render("{order_month}", FULL, "es").text == "febrero de 2026"


def test_missing_values_become_visible_gaps_never_braces():
    out = render(
        "Hi {buyer_name}, order {order_id} via {carrier}.",
        PlaceholderContext(buyer_name="Anna"),
        "en",
    )
    assert out.text == "Hi Anna, order [order id?] via [carrier?]."
    assert [g.name for g in out.gaps] == ["order_id", "carrier"]
    assert out.has_gaps
    assert "{" not in out.text
    assert "}" not in out.text
    assert render("订单{order_id}", PlaceholderContext(), "zh-hans").text == "订单[订单号?]"
    assert (
        render("{tracking_numbers}", PlaceholderContext(tracking_numbers=("", " ")), "ru").text
        == "[трек-номер?]"
    )


def test_unknown_placeholders_and_stray_braces_never_reach_the_buyer():
    out = render("Hello {nickname} {", PlaceholderContext(), "en")
    assert out.text == "Hello [nickname?] "
    assert out.has_gaps
    value_with_braces = render("{product}", PlaceholderContext(product="Lamp {v2}"), "en")
    assert value_with_braces.text == "Lamp (v2)"
