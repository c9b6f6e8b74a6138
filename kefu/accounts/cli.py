"""`kefu shop ...`, `kefu agent ...`, `kefu token ...`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from kefu.accounts import services, tokens
from kefu.accounts.models import ApiToken, Platform, Role, Shop, User
from kefu.automation.starter import install_starter_set
from kefu.desk import setup, team


def register(sub: Any) -> None:
    shop = sub.add_parser("shop", help="create and list shops").add_subparsers(dest="shop_cmd")
    shop.required = True
    create = shop.add_parser("create", help="create a shop and its main account")
    create.add_argument("--name", required=True)
    create.add_argument("--platform", required=True, choices=Platform.values)
    create.add_argument("--timezone", default="Asia/Shanghai")
    create.add_argument("--currency", default="USD")
    create.add_argument("--slug")
    create.add_argument("--owner-login")
    create.add_argument("--owner-password")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_shop_create)
    starter = shop.add_parser(
        "setup", help="install what is missing of the starter set and show the setup checklist"
    )
    starter.add_argument("--shop", required=True, help="shop slug")
    starter.set_defaults(handler=_shop_setup)
    listing = shop.add_parser("list", help="list shops")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_shop_list)

    agent = sub.add_parser("agent", help="manage sub-accounts").add_subparsers(dest="agent_cmd")
    agent.required = True
    a_create = agent.add_parser("create", help="create a sub-account")
    a_create.add_argument("--shop", required=True, help="shop slug")
    a_create.add_argument("--login", required=True)
    a_create.add_argument(
        "--groups", required=True, help="comma list: pre_sale,after_sale,outreach"
    )
    a_create.add_argument("--password")
    a_create.add_argument("--name", default="", help="display name shown to buyers")
    a_create.add_argument("--json", action="store_true")
    a_create.set_defaults(handler=_agent_create)
    a_list = agent.add_parser("list", help="list a shop's logins")
    a_list.add_argument("--shop", required=True)
    a_list.add_argument("--json", action="store_true")
    a_list.set_defaults(handler=_agent_list)
    a_disable = agent.add_parser(
        "disable", help="disable a sub-account and reroute its conversations"
    )
    a_disable.add_argument("--shop", required=True)
    a_disable.add_argument("--login", required=True)
    a_disable.set_defaults(handler=_agent_disable)

    token = sub.add_parser("token", help="personal API tokens").add_subparsers(dest="token_cmd")
    token.required = True
    t_create = token.add_parser("create", help="create an API token for a login")
    t_create.add_argument("--login", required=True)
    t_create.add_argument("--name", default="cli")
    t_create.add_argument(
        "--days", type=int, default=tokens.DEFAULT_DAYS, help="valid this many days (1-365)"
    )
    t_create.set_defaults(handler=_token_create)
    t_list = token.add_parser("list", help="a shop's tokens (never their values)")
    t_list.add_argument("--shop", required=True)
    t_list.set_defaults(handler=_token_list)
    t_revoke = token.add_parser("revoke", help="revoke a token at once")
    t_revoke.add_argument("--shop", required=True)
    t_revoke.add_argument("token_id", type=int)
    t_revoke.set_defaults(handler=_token_revoke)


def _shop(slug: str) -> Shop:
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        raise CommandError(f"no shop with slug {slug!r}")
    return shop


def _invalid(exc: ValidationError) -> CommandError:
    return CommandError("; ".join(exc.messages))


def _shop_create(args: argparse.Namespace) -> int:
    try:
        opened = setup.open_shop(
            name=args.name,
            platform=args.platform,
            timezone_name=args.timezone,
            currency=args.currency,
            slug=args.slug,
            owner_login=args.owner_login,
            owner_password=args.owner_password,
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    created = opened.created
    info = {
        "slug": created.shop.slug,
        "name": created.shop.name,
        "platform": created.shop.platform,
        "webhook_secret": created.shop.webhook_secret,
        "owner_login": created.owner.username,
        "owner_password": created.password,
    }
    starter = opened.starter
    if args.json:
        print(json.dumps(info | {"starter": dataclasses.asdict(starter)}))
    else:
        for key, value in info.items():
            print(f"{key:15} {value}")
        print(
            f"{'starter':15} {starter.scripts} scripts, {starter.keywords} keyword rules "
            "(off until keyword replies are turned on), welcome and out-of-hours texts"
        )
        print(f"next: kefu shop setup --shop {created.shop.slug}")
    return 0


def _shop_setup(args: argparse.Namespace) -> int:
    shop = _shop(args.shop)
    try:
        starter = install_starter_set(shop=shop)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    if starter.added_anything:
        print(
            f"added {starter.scripts} scripts, {starter.keywords} keyword rules"
            + (", the welcome text" if starter.welcome else "")
            + (", the out-of-hours text" if starter.out_of_hours else "")
        )
    else:
        print("starter set: nothing missing")
    checklist = setup.setup_checklist(shop)
    print(f"setup: {checklist.done_count} of {len(checklist.steps)} done")
    for step in checklist.steps:
        print(f"[{'x' if step.done else ' '}] {step.title}: {step.status} ({step.url})")
    return 0


def _shop_list(args: argparse.Namespace) -> int:
    rows = [{"slug": s.slug, "name": s.name, "platform": s.platform} for s in Shop.objects.all()]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"{row['slug']:24} {row['platform']:11} {row['name']}")
    return 0


def _agent_create(args: argparse.Namespace) -> int:
    shop = _shop(args.shop)
    try:
        user, password = services.create_agent(
            actor=None,
            shop=shop,
            login=args.login,
            groups=services.parse_groups(args.groups),
            password=args.password,
            display_name=args.name,
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    info = {
        "login": user.username,
        "password": password,
        "groups": user.service_groups,
        "shop": shop.slug,
    }
    print(
        json.dumps(info)
        if args.json
        else f"created {user.username} ({', '.join(user.service_groups)}) password: {password}"
    )
    return 0


def _agent_list(args: argparse.Namespace) -> int:
    shop = _shop(args.shop)
    rows = [
        {
            "login": u.username,
            "role": u.role,
            "name": u.display_name,
            "groups": u.service_groups,
            "active": u.is_active,
        }
        for u in User.objects.filter(shop=shop).order_by("role", "username")
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            state = "active" if r["active"] else "disabled"
            print(f"{r['login']:20} {r['role']:6} {state:9} {','.join(r['groups'])}")  # type: ignore[arg-type]
    return 0


def _agent_disable(args: argparse.Namespace) -> int:
    shop = _shop(args.shop)
    user = User.objects.filter(shop=shop, username=args.login).first()
    if user is None:
        raise CommandError(f"no login {args.login!r} in shop {shop.slug}")
    if user.role == Role.OWNER:
        raise CommandError("the main account cannot be disabled")
    team.set_agent_active(actor=None, agent=user, active=False)
    print(f"disabled {user.username}")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    user = User.objects.filter(username=args.login).first()
    if user is None:
        raise CommandError(f"no login {args.login!r}")
    try:
        _, raw = tokens.create_api_token(user=user, name=args.name, days=args.days)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    print(raw)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    shop = _shop(args.shop)
    zone = zoneinfo.ZoneInfo(shop.timezone)

    def local(moment: dt.datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "never"

    print(f"id\tlogin\tname\tstate\texpires\tlast used ({shop.timezone})")
    for t in ApiToken.objects.filter(shop=shop).select_related("user").order_by("pk"):
        state = "revoked" if t.revoked_at else "live" if t.is_live else "expired"
        print(
            f"{t.pk}\t{t.user.username}\t{t.name}\t{state}\t{local(t.expires_at)}"
            f"\t{local(t.last_used_at)}"
        )
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    token = ApiToken.objects.filter(shop=_shop(args.shop), pk=args.token_id).first()
    if token is None:
        raise CommandError(f"no token {args.token_id} in shop {args.shop}")
    tokens.revoke_api_token(token=token)
    print(f"revoked token {token.pk} ({token.name}) of {token.user.username}")
    return 0
