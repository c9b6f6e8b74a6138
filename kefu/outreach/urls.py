from __future__ import annotations

from django.urls import path

from kefu.outreach import invitation_views, views

app_name = "outreach"

urlpatterns = [
    path("outreach/", views.outreach, name="outreach"),
    path("outreach/segments", views.save_segment, name="save_segment"),
    path("outreach/campaigns", views.new_campaign, name="new_campaign"),
    path("outreach/campaigns/<int:campaign_id>/control", views.control, name="control"),
    path("outreach/invitations/", invitation_views.invitations_page, name="invitations"),
    path("outreach/invitations/new", invitation_views.new_invitation, name="new_invitation"),
    path(
        "outreach/invitations/<int:invitation_id>/switch",
        invitation_views.switch_invitation,
        name="switch_invitation",
    ),
    path("outreach/idle", invitation_views.idle_setting, name="idle_setting"),
    path(
        "outreach/queue/<int:buyer_id>/take",
        invitation_views.take_from_queue,
        name="take_from_queue",
    ),
    path("outreach/caps", views.set_cap, name="set_cap"),
]
