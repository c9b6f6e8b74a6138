from __future__ import annotations

from django.urls import path

from kefu.outreach import views

app_name = "outreach"

urlpatterns = [
    path("outreach/", views.outreach, name="outreach"),
    path("outreach/segments", views.save_segment, name="save_segment"),
    path("outreach/campaigns", views.new_campaign, name="new_campaign"),
    path("outreach/campaigns/<int:campaign_id>/control", views.control, name="control"),
    path("outreach/caps", views.set_cap, name="set_cap"),
]
