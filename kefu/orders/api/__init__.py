"""Orders API, mounted at /api/v1/orders: the signed marketplace webhooks, and the agent and
owner operations behind the pages (orders, settings, incident broadcasts).

Operation ids are given explicitly: they were named after the single module this package
replaced, and clients generated from the schema keep them.
"""

from __future__ import annotations

from kefu.orders.api import incidents, orders, settings, webhooks

# The orders router is the root, because a child router cannot answer at the mount point itself
# (ninja joins "orders" and "" as "orders/") and `GET /api/v1/orders` lists the orders.
router = orders.router
router.add_router("", webhooks.router)
router.add_router("", settings.router)
router.add_router("", incidents.router)
