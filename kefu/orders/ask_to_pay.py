"""The purple mark's duty (R-06): a parcel refunded while it was lost is delivered after all,
so the buyer is asked, once, to pay for it again."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from kefu.conversations.models import ConversationMark, MarkColor
from kefu.conversations.outbound import send_system_message
from kefu.orders.models import Order

ASK_TO_PAY = {
    "en": "Good news: tracking shows your parcel has been delivered after all. Since the order "
    "was refunded while it was missing, could you kindly pay for it again through the platform? "
    "Thank you for your fairness!",
    "ru": "Хорошая новость: посылка всё-таки доставлена. Так как заказ был возвращён, пока она "
    "терялась, не могли бы вы, пожалуйста, оплатить его снова через платформу? Спасибо!",
    "es": "Buenas noticias: el seguimiento indica que su paquete ha sido entregado. Como el pedido "
    "se reembolsó mientras estaba perdido, ¿podría volver a pagarlo en la plataforma? ¡Gracias!",
    "zh-hans": "亲，物流显示您的包裹已经签收啦。之前因为包裹延误为您办理了退款，"
    "方便的话麻烦通过平台重新付款，非常感谢您的理解与支持！",
}


def ask_to_pay_after_delivery(*, now: datetime | None = None) -> int:
    """Purple duty: once the refunded parcel is delivered after all, ask the buyer to pay.

    Sent at most once per mark (the outbox key is the mark), however often this runs.
    """
    sent = 0
    marks = ConversationMark.objects.filter(
        color=MarkColor.PURPLE, cleared_at__isnull=True, duty_done_at__isnull=True
    ).select_related("conversation__buyer", "conversation__shop")
    for mark in marks:
        conv = mark.conversation
        order = Order.objects.filter(
            shop_id=mark.shop_id, external_id=mark.data.get("order_external_id") or "-"
        ).first()
        if order is None or not (order.delivered_at or "ask_buyer_to_pay" in order.flags):
            continue
        language = conv.buyer.language if conv.buyer.language in ASK_TO_PAY else "en"
        message = send_system_message(
            conversation=conv,
            text=ASK_TO_PAY[language],
            automation="ask_to_pay",
            dedupe_key=f"ask-to-pay:{mark.pk}",
        )
        ConversationMark.objects.filter(pk=mark.pk).update(duty_done_at=now or timezone.now())
        if message is not None:
            sent += 1
    return sent
