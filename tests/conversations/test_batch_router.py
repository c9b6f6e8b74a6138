"""The intake batch's router with many agents online (decisions §83): a batch of n messages
reads only the n + 1 least ranked candidates, ranks them in a heap, and chooses exactly
whom ranking every available agent would choose — also when a change in the batch forces
it back to reading them all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.services import create_agent
from kefu.catalog.models import Product
from kefu.conversations.intake_batch import Loads, Router
from kefu.conversations.models import AgentPresence
from kefu.conversations.routing import choose_agent
from tests.conftest import PASSWORD
from tests.helpers import online


def _agents(shop: Shop, count: int) -> list[User]:
    agents = [
        create_agent(
            actor=None,
            shop=shop,
            login=f"agent{n:02d}",
            groups=["pre_sale"],
            password=PASSWORD,
            display_name=f"Agent {n}",
        )[0]
        for n in range(count)
    ]
    online(*agents)
    # Loads and last assignments spread so that the order is neither the ids' nor the loads'
    # alone: ties on load are broken by the longest idle (never assigned first), then the id.
    base = timezone.now() - dt.timedelta(hours=1)
    for n, agent in enumerate(agents):
        AgentPresence.objects.filter(user=agent).update(
            open_load=(n * 7) % 4,
            last_assigned_at=None if n % 5 == 0 else base + dt.timedelta(minutes=(n * 13) % 17),
        )
    return agents


def _run(shop: Shop, steps: list[tuple[str, int]], *, expect: int | None) -> tuple[list, Router]:
    """Route like ``BatchStore._route`` does for each step: ("pick", 0) chooses and assigns,
    ("owner", product id) chooses for that product, ("shift", user id) takes a chat from an
    agent (−1), ("reopen", user id) gives one back (+1). The chosen agents' ids, in order."""
    loads = Loads()
    router = Router(loads)
    if expect is not None:
        router.expect(expect)
    chosen = []
    for kind, arg in steps:
        if kind in ("pick", "owner"):
            product = Product.objects.get(pk=arg) if kind == "owner" else None
            agent, reason = router.choose(shop, "pre_sale", product)
            assert agent is not None
            loads.shift(agent.pk, +1)
            loads.assigned(agent.pk, timezone.now())
            chosen.append((agent.pk, reason))
        else:
            loads.shift(arg, -1 if kind == "shift" else +1)
    return chosen, router


def _expected(shop: Shop, steps: list[tuple[str, int]]) -> list:
    """The same steps with ``routing.choose_agent``, which reads and ranks every available
    agent each time, the loads written to the rows as it goes (rolled back by the test)."""
    chosen = []
    for kind, arg in steps:
        presence = AgentPresence.objects.filter
        if kind in ("pick", "owner"):
            product = Product.objects.get(pk=arg) if kind == "owner" else None
            agent, reason = choose_agent(shop=shop, group="pre_sale", product=product)
            assert agent is not None
            row = presence(user=agent).get()
            presence(user=agent).update(
                open_load=row.open_load + 1, last_assigned_at=timezone.now()
            )
            chosen.append((agent.pk, reason))
        else:
            row = presence(user_id=arg).get()
            presence(user_id=arg).update(open_load=row.open_load + (-1 if kind == "shift" else 1))
    return chosen


def _ranked(shop: Shop) -> list[int]:
    from kefu.conversations.routing import available_agent_loads

    return [row[0] for row in available_agent_loads(shop=shop, group="pre_sale")]


@pytest.mark.django_db
def test_a_small_batch_reads_the_first_candidates_and_chooses_as_a_full_ranking(shop):
    _agents(shop, 40)
    ranked = _ranked(shop)
    # An owner far down the ranking, a reopened chat of an agent among the first read and
    # one of an agent beyond them (both raise a load, which needs no reread).
    product = Product.objects.create(
        shop=shop, external_id="P-1", title="Lamp", owner_id=ranked[-3]
    )
    steps = [("pick", 0)] * 3 + [("reopen", ranked[1]), ("reopen", ranked[30])]
    steps += [("owner", product.pk), ("pick", 0), ("owner", product.pk)] + [("pick", 0)] * 3
    messages = sum(1 for kind, _ in steps if kind in ("pick", "owner"))

    got, router = _run(shop, steps, expect=messages)
    ranking = router._rankings[(shop.pk, "pre_sale")]
    assert not ranking.complete and ranking.first == messages + 1 < len(ranked)
    assert ranking.rows.keys() == set(ranked[: messages + 1]) | {ranked[-3]}
    full, _ = _run(shop, steps, expect=None)
    assert got == full == _expected(shop, steps)
    assert ("product_owner" in {reason for _, reason in got}) and len({pk for pk, _ in got}) > 5


@pytest.mark.django_db
def test_a_chat_taken_from_an_agent_not_read_makes_the_batch_read_every_candidate(shop):
    agents = _agents(shop, 30)
    last = agents[-1].pk
    AgentPresence.objects.filter(user_id=last).update(open_load=6, last_assigned_at=None)
    ranked = _ranked(shop)
    assert ranked[-1] == last
    # The last ranked agent loses its six chats: now never assigned and free, first in line,
    # though the first rows read did not hold it.
    steps = [("pick", 0)] * 2 + [("shift", last)] * 6 + [("pick", 0)] * 4
    got, router = _run(shop, steps, expect=6)
    assert router._rankings[(shop.pk, "pre_sale")].complete
    assert last in {pk for pk, _ in got}
    full, _ = _run(shop, steps, expect=None)
    assert got == full == _expected(shop, steps)
    assert len(agents) == len(ranked)


@pytest.mark.django_db
def test_more_choices_than_expected_read_every_candidate_and_stay_right(shop):
    _agents(shop, 25)
    steps = [("pick", 0)] * 12
    # Told of 3 messages (4 rows read), asked for 12 choices: once every row read has moved,
    # an agent not read could be first, so the router reads them all.
    got, router = _run(shop, steps, expect=3)
    assert router._rankings[(shop.pk, "pre_sale")].complete
    full, _ = _run(shop, steps, expect=None)
    assert got == full == _expected(shop, steps)
