from __future__ import annotations

from django.urls import URLPattern, path

from kefu.automation import views

app_name = "automation"

urlpatterns: list[URLPattern] = [
    path("automation/", views.overview, name="overview"),
    path("automation/auto-replies/", views.auto_replies, name="auto_replies"),
    path("automation/keywords/", views.keywords, name="keywords"),
    path("automation/keywords/preview", views.keywords_preview, name="keywords_preview"),
    path("automation/keyword-images/<int:rule_id>", views.keyword_image, name="keyword_image"),
    path("automation/scripts/", views.scripts, name="scripts"),
    path("automation/scripts/new", views.script_edit, name="script_new"),
    path("automation/scripts/<int:script_id>/edit", views.script_edit, name="script_edit"),
    path("automation/scripts/<int:script_id>/active", views.script_active, name="script_active"),
    path("automation/quick-replies/", views.quick_replies, name="quick_replies"),
]
