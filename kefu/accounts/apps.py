from django.apps import AppConfig

# The stamp that moves whenever any shop is saved or deleted: processes that keep a copy of
# shops (the webhook's signing secret and limits, kefu.integrations.shop_cache) drop it then.
SHOPS_STAMP = "shops"


class AccountsConfig(AppConfig):
    name = "kefu.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's own signals, so every way a shop changes (the settings page, the API, the
        # CLI, the admin) moves the stamp, not only the service functions known today.
        from django.db.models.signals import post_delete, post_save

        from kefu.accounts.models import Shop

        post_save.connect(_shop_changed, sender=Shop, dispatch_uid="shops-stamp-save")
        post_delete.connect(_shop_changed, sender=Shop, dispatch_uid="shops-stamp-delete")


def _shop_changed(**kwargs: object) -> None:
    from kefu.core.stamps import bump

    bump(SHOPS_STAMP)
