"""A webhook that fails because PostgreSQL or Redis is down or restarting answers 503 with
`Retry-After` (the connector resends it; nothing is stored), on the workbench and on the WSGI
intake server alike; any other failure is still an error, not a "try again"."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from kefu import intake_settings
from kefu.conversations.models import IntakeMessage, Message
from kefu.integrations import api as integrations_api
from tests.helpers import post_signed

pytestmark = pytest.mark.django_db

ON_INTAKE = override_settings(
    ROOT_URLCONF=intake_settings.ROOT_URLCONF, MIDDLEWARE=intake_settings.MIDDLEWARE
)


def _message(ext: str) -> dict[str, object]:
    return {
        "external_id": ext,
        "buyer": {"external_id": "b-1", "name": "Olga", "language": "en"},
        "entry_point": "product_page",
        "text": "is the lamp in stock?",
    }


def _post(server: str, shop, body: dict[str, object], language: str = "en"):
    client = Client(headers={"Accept-Language": language})
    if server == "intake":
        with ON_INTAKE:
            return post_signed(client, shop, body)
    return post_signed(client, shop, body)


def _down(exc: BaseException):
    def fail(**kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("server closed the connection unexpectedly"),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    ],
    ids=["database", "redis"],
)
@pytest.mark.parametrize("server", ["workbench", "intake"])
def test_a_webhook_that_meets_a_down_service_answers_503_and_stores_nothing(
    shop, monkeypatch, failure, server
):
    monkeypatch.setattr(integrations_api, "enqueue_message", _down(failure))
    response = _post(server, shop, _message("m-1"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {"detail": "The service is briefly unavailable. Please try again."}
    # In the language the connector asks for, as every refusal of the webhooks.
    assert _post(server, shop, _message("m-1"), language="zh-hans").json() == {
        "detail": "服务暂时不可用，请稍后重试。"
    }
    assert not IntakeMessage.objects.filter(shop=shop).exists()
    assert not Message.objects.filter(shop=shop).exists()

    # The connector's resend, once the service is back, is taken in as usual.
    monkeypatch.undo()
    again = _post(server, shop, _message("m-1"))
    assert again.status_code == 202
    assert Message.objects.filter(shop=shop, external_id="m-1").count() == 1


def test_a_bug_is_not_dressed_up_as_try_again(shop, monkeypatch):
    monkeypatch.setattr(integrations_api, "enqueue_message", _down(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        post_signed(Client(), shop, _message("m-2"))
