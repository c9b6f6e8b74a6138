"""Script topics as sellers read them (R-10). A topic is stored as a slug; the default
library's slugs have labels in both interface languages, a topic a seller typed shows as typed."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TOPIC_LABELS: dict[str, Promise] = {
    # pre-sale
    "product_questions": _("Product questions"),
    "product_facts": _("Product facts"),
    "shipping_channels": _("Shipping channels"),
    "delivery_time": _("Delivery time"),
    "import_duties": _("Import duties"),
    "low_declaration": _("Low customs declaration"),
    "price": _("Price"),
    "gifts": _("Gifts"),
    "payment_methods": _("Payment methods"),
    "payment_failed": _("Payment failed"),
    "payment_reminder": _("Payment reminder 催付"),
    "holding_reply": _("We are checking"),
    # in-sale
    "out_of_stock": _("Out of stock / oversold"),
    "failed_to_ship_on_time": _("Failed to ship on time"),
    "urging_shipment": _("Buyer urges shipment"),
    "logistics_inquiry": _("Logistics inquiry"),
    "customs_clearance": _("Customs clearance"),
    "promised_delivery_time": _("Promised delivery time"),
    "failed_delivery": _("Failed delivery"),
    "post_office_pickup": _("Waiting at the post office"),
    "split_parcels": _("Split parcels"),
    # after-sale
    "how_to_use": _("How to use"),
    "product_defects": _("Product defects"),
    "damaged_product": _("Damaged product"),
    "not_as_expected": _("Not as expected"),
    "duty_paid_afterwards": _("Duty paid afterwards"),
    "short_shipment": _("Short shipment"),
    "wrong_item": _("Wrong item sent"),
    "refund_timing": _("Refund timing"),
    "review_request": _("Asking for a review"),
}


def topic_label(topic: str) -> str:
    label = TOPIC_LABELS.get(topic)
    return str(label) if label is not None else topic
