"""The products page: list, search, filter by owner, bulk owner and main-push, the product
form and its deletion. Thin: parse, authorise, call a service or selector, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.catalog import selectors
from kefu.catalog.models import Product
from kefu.catalog.services import (
    ProductData,
    bulk_assign_owner,
    create_product,
    delete_product,
    input_of,
    set_main_push,
    update_product,
)

PAGE_SIZE = 50


def _filters(params: QueryDict) -> dict[str, Any]:
    main_push = params.get("main_push", "")
    return {
        "query": params.get("q", "").strip()[:100],
        "owner": params.get("owner", "").strip()[:150],
        "main_push": {"1": True, "0": False}.get(main_push),
    }


def _back_to_list(back: str) -> str:
    # Only the list's own filters come back: the value is the page's query string.
    params = QueryDict(back)
    kept = {k: params[k] for k in ("q", "owner", "main_push") if params.get(k)}
    return reverse("catalog:products") + (f"?{urlencode(kept)}" if kept else "")


@shop_view()
@require_GET
def products(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    filters = _filters(request.GET)
    found = selectors.products_of(user, **filters)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {k: request.GET[k] for k in ("q", "owner", "main_push") if request.GET.get(k)}
    return render(
        request,
        "catalog/products.html",
        {
            "page": page,
            "owners": selectors.possible_owners(shop),
            "no_owner": selectors.NO_OWNER,
            "q": filters["query"],
            "owner": filters["owner"],
            "main_push": request.GET.get("main_push", ""),
            "kept": urlencode(kept),
            "can_edit": has_capability(user, Capability.MANAGE_SETTINGS),
        },
    )


def _owner_from(shop_owners: Any, value: str) -> User | None:
    """The sub-account a form names by id; an empty choice is nobody."""
    if not value:
        return None
    try:
        owner: User | None = shop_owners.filter(pk=int(value)).first()
    except ValueError:
        owner = None
    if owner is None:
        raise ValidationError(_("The owner must be a sub-account of this shop."))
    return owner


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_POST
def products_bulk(request: ShopRequest) -> HttpResponse:
    """Checked products: give them to a sub-account, or set or unset main-push."""
    user = request.user
    back = _back_to_list(request.POST.get("back", ""))
    try:
        ids = [int(v) for v in request.POST.getlist("product")]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, _("Tick the products to change first."))
        return HttpResponseRedirect(back)
    action = request.POST.get("action", "")
    try:
        if action == "owner":
            owner = _owner_from(
                selectors.possible_owners(shop_of(user)), request.POST.get("owner", "")
            )
            changed = bulk_assign_owner(actor=user, product_ids=ids, owner=owner)
        elif action in ("main_push", "not_main_push"):
            changed = set_main_push(actor=user, product_ids=ids, flag=action == "main_push")
        else:
            raise ValidationError(_("Choose what to do with the ticked products."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext("%(n)s product changed.", "%(n)s products changed.", changed) % {"n": changed},
        )
    return HttpResponseRedirect(back)


def _form_input(request: ShopRequest, product: Product | None) -> tuple[ProductData, list[str]]:
    """The form as a ProductData, and what could not even be read (a word for a number, a
    related product that matches nothing)."""
    post = request.POST
    shop = shop_of(request.user)
    problems: list[str] = []

    def number(name: str, label: str) -> int | None:
        raw = post.get(name, "").strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            problems.append(_("%(field)s must be a whole number.") % {"field": label})
            return None

    owner = None
    try:
        owner = _owner_from(selectors.possible_owners(shop), post.get("owner", ""))
    except ValidationError as exc:
        problems.extend(exc.messages)
    kept_ids = []
    for value in post.getlist("related"):
        if value.isdigit():
            kept_ids.append(int(value))
    related = list(Product.objects.filter(shop=shop, pk__in=kept_ids))
    lookup = selectors.find_products(shop, post.get("add_related", "").splitlines())
    problems.extend(lookup.problems)
    related += [p for p in lookup.found if p not in related]
    data = ProductData(
        external_id=post.get("external_id", ""),
        title=post.get("title", ""),
        sku=post.get("sku", ""),
        category=post.get("category", ""),
        price=post.get("price", "").strip() or "0",
        currency=post.get("currency", ""),
        stock=number("stock", _("Stock")) or 0,
        url=post.get("url", ""),
        image_url=post.get("image_url", ""),
        owner=owner,
        is_main_push=post.get("is_main_push") == "on",
        free_shipping=post.get("free_shipping") == "on",
        free_shipping_excluded_regions=post.get("excluded_regions", "").splitlines(),
        usage_cycle_days=number("usage_cycle_days", _("Usage cycle")),
        related=related,
        shelf_life=post.get("shelf_life", ""),
        suits=post.get("suits", ""),
        ships_from=post.get("ships_from", ""),
        dispatch_time=post.get("dispatch_time", ""),
        differences=post.get("differences", ""),
    )
    return data, problems


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def product_edit(request: ShopRequest, product_id: int | None = None) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    product = selectors.access_product_by_id(user, product_id) if product_id is not None else None
    errors: list[str] = []
    add_related = ""
    if request.method == "POST":
        data, errors = _form_input(request, product)
        add_related = request.POST.get("add_related", "")
        if not errors:
            try:
                if product is None:
                    saved = create_product(actor=user, data=data)
                else:
                    saved = update_product(actor=user, product=product, data=data)
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, _("Product %(title)s saved.") % {"title": saved.title})
                return HttpResponseRedirect(reverse("catalog:products"))
    elif product is not None:
        data = input_of(product)
    else:
        data = ProductData(external_id="", title="", currency=shop.currency)
    return render(
        request,
        "catalog/product_edit.html",
        {
            "product": product,
            "values": data,
            "regions_text": "\n".join(data.free_shipping_excluded_regions),
            "add_related": add_related,
            "owners": selectors.possible_owners(shop),
            "categories": selectors.categories_of(shop),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_POST
def product_delete(request: ShopRequest, product_id: int) -> HttpResponse:
    user = request.user
    product = selectors.access_product_by_id(user, product_id)
    title = product.title
    try:
        delete_product(actor=user, product=product)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Product %(title)s deleted.") % {"title": title})
    return HttpResponseRedirect(reverse("catalog:products"))
