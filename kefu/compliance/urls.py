from __future__ import annotations

from django.urls import path

from kefu.compliance import views

urlpatterns = [
    path("compliance/findings/", views.findings, name="compliance_findings"),
    path("compliance/rules/", views.rules, name="compliance_rules"),
    path("compliance/shipping-policy/", views.shipping_policy, name="compliance_shipping_policy"),
]
