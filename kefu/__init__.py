"""Kefu: a customer-service workbench for marketplace sellers."""

from kefu.celery import app as celery_app

__all__ = ["celery_app"]
