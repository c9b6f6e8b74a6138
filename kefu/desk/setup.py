"""A shop's first run: opening it with its starter automation, and the setup checklist the
owner's home shows (what is done, what is next, where to do it). The checklist only reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, Shop
from kefu.accounts.services import CreatedShop, create_shop
from kefu.automation.models import BusinessHours, Script
from kefu.automation.starter import StarterInstalled, install_starter_set
from kefu.catalog.models import Product
from kefu.orders.models import Order


@dataclass(frozen=True)
class OpenedShop:
    created: CreatedShop
    starter: StarterInstalled


def open_shop(
    *,
    name: str,
    platform: str,
    timezone_name: str = "Asia/Shanghai",
    currency: str = "USD",
    slug: str | None = None,
    owner_login: str | None = None,
    owner_password: str | None = None,
) -> OpenedShop:
    """Create a shop and its main account with the starter automation installed, in one
    transaction: a refused shop leaves nothing behind, and a new shop never lacks its
    scripts, keyword set or welcome texts."""
    with transaction.atomic():
        created = create_shop(
            name=name,
            platform=platform,
            timezone_name=timezone_name,
            currency=currency,
            slug=slug,
            owner_login=owner_login,
            owner_password=owner_password,
        )
        starter = install_starter_set(shop=created.shop)
    return OpenedShop(created=created, starter=starter)


@dataclass(frozen=True)
class SetupStep:
    key: str
    title: StrPromise
    done: bool
    status: str  # what is there now, in the reader's language
    url: str  # where to do it
    action: StrPromise


@dataclass(frozen=True)
class SetupChecklist:
    steps: list[SetupStep]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def next_step(self) -> SetupStep | None:
        return next((step for step in self.steps if not step.done), None)


def _first_url(*names: str) -> str:
    """The first of `names` that is a page; the catalogue pages come later (issue 12)."""
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("setup")


def callback_connected(shop: Shop) -> bool:
    """A callback URL is saved and a signed test ping to that very URL was answered 2xx."""
    return bool(
        shop.callback_url
        and shop.callback_ping_at is not None
        and shop.callback_ping_url == shop.callback_url
    )


def _local(moment: dt.datetime, shop: Shop) -> str:
    return moment.astimezone(ZoneInfo(shop.timezone)).strftime("%Y-%m-%d %H:%M")


def setup_checklist(shop: Shop) -> SetupChecklist:
    """What a new shop still has to do before buyers are answered well. Reads only."""
    library = Script.objects.filter(shop=shop).exclude(key="").count()
    products = Product.objects.filter(shop=shop).count()
    orders = Order.objects.filter(shop=shop).count()
    agents = [
        u
        for u in shop.members.filter(role=Role.AGENT, is_active=True)
        if u.service_groups  # a sub-account in no group is never routed a buyer
    ]
    hours = BusinessHours.objects.filter(shop=shop).count()
    if not shop.callback_url:
        marketplace = str(_("No reply callback URL saved yet."))
    elif callback_connected(shop):
        assert shop.callback_ping_at is not None  # noqa: S101 - callback_connected checked it
        marketplace = str(_("The callback answered a signed test ping at %(when)s.")) % {
            "when": _local(shop.callback_ping_at, shop)
        }
    else:
        marketplace = str(_("Callback URL saved; send a test ping to check it answers."))
    steps = [
        SetupStep(
            key="starter",
            title=_("Scripts, keyword set and welcome texts"),
            done=library > 0,
            status=str(_("%(count)s default scripts installed.")) % {"count": library}
            if library
            else str(_("Not installed yet.")),
            url=reverse("setup") if not library else reverse("automation:scripts"),
            action=_("Install the starter set") if not library else _("Review the scripts"),
        ),
        SetupStep(
            key="marketplace",
            title=_("Marketplace connected"),
            done=callback_connected(shop),
            status=marketplace,
            url=reverse("settings"),
            action=_("Save the callback URL and send a test ping"),
        ),
        SetupStep(
            key="products",
            title=_("Products imported"),
            done=products > 0,
            status=str(_("%(count)s products.")) % {"count": products},
            url=_first_url("products_import", "products"),
            action=_("Import your products"),
        ),
        SetupStep(
            key="orders",
            title=_("Orders imported"),
            done=orders > 0,
            status=str(_("%(count)s orders.")) % {"count": orders},
            url=reverse("orders_import"),
            action=_("Import an order export"),
        ),
        SetupStep(
            key="agents",
            title=_("Agents created with groups"),
            done=bool(agents),
            status=str(_("%(count)s sub-accounts in a service group.")) % {"count": len(agents)},
            url=reverse("agents"),
            action=_("Create sub-accounts"),
        ),
        SetupStep(
            key="hours",
            title=_("Business hours set"),
            done=hours > 0,
            status=str(_("%(count)s opening intervals a week.")) % {"count": hours}
            if hours
            else str(_("No business hours: the out-of-hours reply never goes out.")),
            url=reverse("automation:auto_replies"),
            action=_("Set business hours"),
        ),
    ]
    return SetupChecklist(steps=steps)
