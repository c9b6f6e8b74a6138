from __future__ import annotations

import random
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from kefu.accounts.models import Shop


class OutreachConfig(AppConfig):
    name = "kefu.outreach"
    label = "outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A buyer's opt-out reply is noticed where every stored message is: Django's own
        # post_save on Message, so the intake flow does not need to know campaigns exist.
        from django.db.models.signals import post_save

        from kefu.conversations.models import Message
        from kefu.outreach.services import on_message_saved

        post_save.connect(on_message_saved, sender=Message, dispatch_uid="outreach-opt-out")

    def load_demo(self, *, shop: Shop, rng: random.Random) -> None:
        from kefu.outreach import demo

        demo.load(shop=shop, rng=rng)
