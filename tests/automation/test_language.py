"""Language detection restricted to the shop's languages (R-11)."""

import pytest

from kefu.automation.language import detect

ALL = frozenset({"en", "ru", "es", "zh-hans"})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello, where is my parcel? It has been three weeks.", "en"),
        ("Здравствуйте, где моя посылка?", "ru"),
        ("Hola, ¿dónde está mi paquete? Ya pasaron tres semanas.", "es"),
        ("你好，我的包裹到哪里了", "zh-hans"),
        ("請問什麼時候發貨", "zh-hans"),
    ],
)
def test_detects_the_four_languages(text, language):
    found = detect(text, ALL)
    assert found is not None
    assert found.language == language


def test_detection_is_restricted_to_the_shop_languages():
    assert detect("Hola, ¿dónde está mi paquete?", frozenset({"en", "zh-hans"})).language == "en"
    assert detect("ok", ALL) is not None
    assert detect("?!", ALL) is None
