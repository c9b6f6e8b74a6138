"""`kefu demo load`: the demo shop for trying Kefu."""

from __future__ import annotations

import argparse
from typing import Any

from kefu.demo.seed import load_demo


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_cmd")
    demo.required = True
    load = demo.add_parser("load", help="create the demo shop (once) and print its logins")
    load.set_defaults(handler=_load)


def _load(args: argparse.Namespace) -> int:
    info = load_demo()
    state = "created" if info.created else "already there"
    print(f"\nDemo shop {info.shop.name!r} ({info.shop.slug}) {state}.")
    print("Log in at http://127.0.0.1:8000/login/ with:")
    for login, password, role in info.logins:
        print(f"  {login:14} {password:16} {role}")
    print(f"Buyer chat widget: http://127.0.0.1:8000/chat/{info.shop.slug}/")
    print(f"Webhook: X-Kefu-Shop: {info.shop.slug}  secret: {info.shop.webhook_secret}\n")
    return 0
