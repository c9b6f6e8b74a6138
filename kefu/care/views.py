"""Pages of the case archive (案例备份, R-35): search and export, and saving a case."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.scoping import shop_of
from kefu.care import exports, selectors, services
from kefu.care.models import CaseOutcome
from kefu.conversations.selectors import access_conversation
from kefu.core.spreadsheets import spreadsheet_response


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


@shop_view()
@require_GET
def cases(request: ShopRequest) -> HttpResponse:
    user = request.user
    query = request.GET.get("q", "").strip()[:200]
    outcome = request.GET.get("outcome", "")
    if outcome not in CaseOutcome.values:
        outcome = ""
    qs = selectors.visible_cases(user, query=query, outcome=outcome)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        rows = exports.case_rows(qs[:20_000])
        name = f"kefu-cases-{shop_of(user).slug}"
        return spreadsheet_response(
            fmt=export, header=exports.CASE_HEADER, rows=rows, name=name, title="cases"
        )
    return render(
        request,
        "care/cases.html",
        {"cases": qs[:200], "q": query, "outcome": outcome, "outcomes": CaseOutcome.choices},
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def new_case(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    source = request.POST if request.method == "POST" else request.GET
    conv_raw = source.get("conversation", "").strip()
    conversation = access_conversation(user, int(conv_raw)) if conv_raw.isdigit() else None
    form: dict[str, Any] = {
        "title": source.get("title", ""),
        "event": source.get("event", ""),
        "follow_up": source.get("follow_up", ""),
        "outcome": source.get("outcome", ""),
        "outcome_kind": source.get("outcome_kind", CaseOutcome.RESOLVED),
        "tags": source.get("tags", ""),
        "date": source.get("date", "") or selectors.shop_today(shop).isoformat(),
    }
    if request.method == "POST":
        try:
            services.save_case(
                actor=user,
                conversation=conversation,
                data=services.CaseInput(
                    title=form["title"],
                    event=form["event"],
                    date=_date(form["date"], selectors.shop_today(shop)),
                    follow_up=form["follow_up"],
                    outcome=form["outcome"],
                    outcome_kind=form["outcome_kind"],
                    tags=form["tags"],
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Case saved to the archive."))
            return redirect("care:cases")
    return render(
        request,
        "care/case_form.html",
        {"form": form, "conversation": conversation, "outcomes": CaseOutcome.choices},
    )
