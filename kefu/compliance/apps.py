from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "kefu.compliance"
    label = "compliance"
    default_auto_field = "django.db.models.BigAutoField"
