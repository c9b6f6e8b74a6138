from __future__ import annotations

from django.urls import path

from kefu.orders import views

urlpatterns = [
    path("orders/", views.order_list, name="orders_list"),
    path("orders/risk/", views.risk_board, name="orders_risk"),
    path("orders/import/", views.import_orders, name="orders_import"),
    path("orders/import/<int:run_id>/", views.import_run, name="orders_import_run"),
    path("orders/settings/", views.order_settings, name="orders_settings"),
    path("orders/incidents/", views.incidents, name="orders_incidents"),
    path("orders/sidebar/<int:buyer_id>/", views.sidebar, name="orders_sidebar"),
    # The orders domain owns this inbox action: it checks the order is the buyer's.
    path("inbox/<int:conversation_id>/order/", views.choose_order, name="conversation_order"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/refunds/", views.order_refund, name="order_refund"),
    path("orders/<int:order_id>/parcels/", views.order_parcel, name="order_parcel"),
    path("orders/<int:order_id>/flags/clear/", views.order_clear_flag, name="order_clear_flag"),
]
