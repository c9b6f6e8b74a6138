from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "kefu.integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"
