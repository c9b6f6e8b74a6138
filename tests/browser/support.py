"""What the browser tests share: the demo-like team they log in as, and DB reads off the loop."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from playwright.sync_api import expect

from kefu.accounts.models import Shop, User
from kefu.accounts.services import create_agent, create_shop
from tests.conftest import PASSWORD

T = TypeVar("T")


def aurora_with_agent(*, login: str, group: str, display_name: str) -> tuple[Shop, User]:
    """The "aurora" shop (owner "owner") and one agent. Build it before Playwright starts its
    event loop in the test's thread: the ORM refuses to run inside it."""
    shop = create_shop(
        name="Aurora Lights",
        platform="aliexpress",
        slug="aurora",
        owner_login="owner",
        owner_password=PASSWORD,
    ).shop
    agent = create_agent(
        actor=None,
        shop=shop,
        login=login,
        groups=[group],
        password=PASSWORD,
        display_name=display_name,
    )[0]
    return shop, agent


def sign_in(page: Any, base: str, login: str, password: str = PASSWORD, language: str = "") -> None:
    """Log `page` in and, given a language, switch the UI to it.

    Each step waits for the page it leads to: the login page has language buttons of its own
    (a `.lang-form` too), so the wait is for the workbench's top bar, which only a signed-in
    page has; clicking a language before it had loaded would race the login's submission."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator(".topbar .lang-form")).to_be_attached()
    if language:
        page.click(f".lang-form button[value={language}]")
        expect(page.locator("html")).to_have_attribute("lang", language)


def signed_in_page(browser: Any, base: str, login: str, *, english: bool = True) -> Any:
    """A fresh browser page logged in as `login` (switched to the English UI by default)."""
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, base, login, language="en" if english else "")
    return page


def in_thread(fn: Callable[[], T]) -> T:
    """ORM calls from outside Playwright's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()
