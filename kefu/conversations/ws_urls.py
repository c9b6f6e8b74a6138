from __future__ import annotations

from django.urls import path

from kefu.conversations.consumers import AgentConsumer, WidgetConsumer

websocket_urlpatterns = [
    path("ws/inbox/", AgentConsumer.as_asgi()),
    path("ws/chat/<slug:slug>/", WidgetConsumer.as_asgi()),
]
