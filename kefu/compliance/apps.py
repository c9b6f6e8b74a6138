from __future__ import annotations

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "kefu.compliance"
    label = "compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def warm_up(self) -> str:
        """Build the rule automaton before the first reply is checked (decisions §18)."""
        # Imported when called: apps.py is loaded before models are ready.
        from kefu.compliance import model, scanner

        scanner.warm_up()
        # The n-gram model behind the rules: its weights are read here, not by a first check.
        model.load_model()
        return scanner.__name__
