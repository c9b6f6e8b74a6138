from __future__ import annotations

from django.urls import path

from kefu.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("settings/", views.shop_settings, name="settings"),
    path("setup/", views.setup, name="setup"),
    path("settings/agents/", views.agents, name="agents"),
    path("settings/agents/<int:user_id>/", views.agent_edit, name="agent_edit"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
