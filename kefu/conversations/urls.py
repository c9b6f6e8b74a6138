from __future__ import annotations

from django.urls import path

from kefu.conversations import mark_views, views, widget_views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/list/", views.inbox_list, name="inbox_list"),
    path("inbox/presence/", views.presence, name="presence"),
    path("inbox/<int:conversation_id>/", views.inbox, name="conversation"),
    path(
        "inbox/<int:conversation_id>/messages/",
        views.conversation_messages,
        name="conversation_messages",
    ),
    path("inbox/<int:conversation_id>/read/", views.conversation_read, name="conversation_read"),
    path(
        "inbox/<int:conversation_id>/timeline/",
        views.conversation_timeline,
        name="conversation_timeline",
    ),
    path("inbox/<int:conversation_id>/reply/", views.reply, name="conversation_reply"),
    path(
        "inbox/<int:conversation_id>/reply/check/",
        views.reply_check,
        name="conversation_reply_check",
    ),
    path(
        "inbox/<int:conversation_id>/product-card/",
        views.product_card,
        name="conversation_product_card",
    ),
    path(
        "inbox/<int:conversation_id>/messages/<int:message_id>/retry/",
        views.retry_delivery,
        name="message_retry",
    ),
    path("inbox/<int:conversation_id>/tools/", views.reply_tools, name="reply_tools"),
    path("inbox/<int:conversation_id>/language/", views.buyer_language, name="buyer_language"),
    path("inbox/<int:conversation_id>/resolve/", views.resolve, name="conversation_resolve"),
    path("inbox/<int:conversation_id>/reopen/", views.reopen, name="conversation_reopen"),
    path("inbox/<int:conversation_id>/assign/", views.assign, name="conversation_assign"),
    path("inbox/<int:conversation_id>/marks/", mark_views.add, name="mark_add"),
    path(
        "inbox/<int:conversation_id>/marks/<int:mark_id>/clear/",
        mark_views.clear,
        name="mark_clear",
    ),
    path(
        "inbox/<int:conversation_id>/marks/<int:mark_id>/tracking/",
        mark_views.tracking,
        name="mark_tracking",
    ),
    path("marks/follow-up/", mark_views.follow_up, name="follow_up"),
    path("marks/quality/", mark_views.quality, name="quality_report"),
    path(
        "media/m/<str:token>.<str:extension>",
        views.media_file,
        name="media_file",
    ),
    path("chat/<slug:slug>/", widget_views.chat, name="widget"),
    path("chat/<slug:slug>/send/", widget_views.send, name="widget_send"),
    path("chat/<slug:slug>/messages/", widget_views.messages, name="widget_messages"),
    path(
        "chat/<slug:slug>/invitations/<int:invitation_id>/shown/",
        widget_views.invitation_shown,
        name="widget_invitation_shown",
    ),
    path(
        "chat/<slug:slug>/invitations/<int:invitation_id>/accept/",
        widget_views.invitation_accept,
        name="widget_invitation_accept",
    ),
    path("chat/<slug:slug>/opt-out/", widget_views.opt_out, name="widget_opt_out"),
]
