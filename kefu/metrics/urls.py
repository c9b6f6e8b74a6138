from __future__ import annotations

from django.urls import path

from kefu.metrics import views

urlpatterns = [
    path("metrics/", views.dashboard, name="metrics_dashboard"),
    path("metrics/settings/", views.settings_form, name="metrics_settings"),
    path("metrics/inspection/", views.inspection, name="metrics_inspection"),
]
