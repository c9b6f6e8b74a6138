from __future__ import annotations

from django.urls import URLPattern, path

from kefu.catalog import views

app_name = "catalog"

urlpatterns: list[URLPattern] = [
    path("products/", views.products, name="products"),
    path("products/bulk", views.products_bulk, name="products_bulk"),
    path("products/new", views.product_edit, name="product_new"),
    path("products/<int:product_id>/edit", views.product_edit, name="product_edit"),
    path("products/<int:product_id>/delete", views.product_delete, name="product_delete"),
]
