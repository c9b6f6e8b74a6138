"""The intake worker's batch size on PostgreSQL: the budget is spent on the per-message part
of a batch's cost, the fixed part told apart by a line through the last batches (decisions
§75)."""

from __future__ import annotations

import pytest

from kefu.desk import intake_queue
from kefu.desk.intake_queue import BATCH, MIN_SET_BATCH, marginal_cost, set_batch_size


def line(fixed: float, cost: float, sizes: list[int]) -> list[tuple[int, float]]:
    return [(n, fixed + cost * n) for n in sizes]


def test_the_fit_tells_the_cost_per_message_from_the_fixed_cost():
    samples = line(0.15, 0.005, [4, 20, 10, 20, 6, 20, 30, 20, 20, 12])

    assert marginal_cost(samples) == pytest.approx(0.005)


@pytest.mark.parametrize(
    "samples",
    [
        line(0.15, 0.005, [4, 20, 10]),  # too few batches
        line(0.15, 0.005, [20, 20, 21, 20, 22, 20, 20, 20]),  # all of about one size
        [(n, 0.3 - 0.01 * n) for n in [4, 20, 10, 20, 6, 20, 30, 20]],  # larger took less
    ],
)
def test_no_cost_when_the_batches_cannot_tell_it(samples):
    assert marginal_cost(samples) is None


def test_a_noisy_fit_is_held_to_a_tenth_of_the_whole_cost_per_message():
    # Nearly flat: the slope alone would size batches far past the budget.
    samples = [(n, 0.2 + 1e-7 * n) for n in [4, 20, 10, 20, 6, 20, 30, 20]]
    whole = sum(t for _, t in samples) / sum(n for n, _ in samples)

    assert marginal_cost(samples) == pytest.approx(0.1 * whole)


@pytest.fixture
def learned(monkeypatch):
    monkeypatch.setattr(intake_queue, "_recent", intake_queue.deque(maxlen=32))
    monkeypatch.setattr(intake_queue, "_marginal", None)
    monkeypatch.setattr(intake_queue, "batch_seconds", lambda: 0.3)
    return intake_queue._recent


def test_a_fixed_cost_near_the_budget_no_longer_shrinks_postgresql_batches_to_the_minimum(
    learned, monkeypatch
):
    # 0.15 s fixed, 5 ms a message: 20 messages cost 12.5 ms each, whole.
    monkeypatch.setattr(intake_queue, "_per_message", 0.0125)
    learned.extend(line(0.15, 0.005, [4, 20, 10, 20, 6, 20, 30, 20, 20, 12]))

    assert set_batch_size(BATCH, postgresql=False) in (23, 24)  # the whole cost, as before
    assert set_batch_size(BATCH, postgresql=True) in (59, 60)  # 0.3 s of 5 ms messages


def test_full_batches_of_one_size_keep_the_last_cost_told(learned, monkeypatch):
    monkeypatch.setattr(intake_queue, "_per_message", 0.0125)
    learned.extend(line(0.15, 0.005, [4, 20, 10, 20, 6, 20, 30, 20]))
    assert set_batch_size(BATCH, postgresql=True) in (59, 60)
    # A deep queue: every batch full, nothing left to fit a line through.
    learned.extend(line(0.15, 0.005, [60] * 32))

    assert set_batch_size(BATCH, postgresql=True) in (59, 60)


def test_the_size_stays_within_the_minimum_and_the_cap(learned, monkeypatch):
    monkeypatch.setattr(intake_queue, "_per_message", 0.5)
    assert set_batch_size(BATCH, postgresql=True) == MIN_SET_BATCH
    learned.extend(line(0.01, 0.0001, [4, 20, 10, 20, 6, 20, 30, 20]))

    assert set_batch_size(BATCH, postgresql=True) == BATCH
