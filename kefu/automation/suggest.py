"""Script suggestions (R-13): character n-gram TF-IDF retrieval plus stage and order boosts.

The index is fitted over each script's title, topic and example buyer phrasings (all
languages at once: character n-grams need no tokenizer and no downloaded model). A query is
the buyer's latest message. Scores add a boost when the script is written for the
conversation's stage and a larger one when it is written for the order's current state (a
parcel waiting at the post office, split parcels...), because the state is a stronger signal
than wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _

from kefu.automation.keywords import fold

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# The order/parcel states the reply box may pass as `order_state` (the orders domain maps its
# own statuses onto these; R-18 parcel states plus order-level ones), with what they mean to
# an agent: the script editor, the suggestion reasons and the reply box show these labels.
ORDER_STATES: dict[str, StrPromise] = {
    "unpaid": _("Unpaid"),
    "awaiting_shipment": _("Paid, to ship"),
    "shipped_late": _("Shipped late"),
    "oversold": _("Out of stock"),
    "info_received": _("Info received"),
    "in_transit": _("In transit"),
    "stalled": _("Stalled"),
    "at_customs": _("At customs"),
    "available_for_pickup": _("Waiting for pickup"),
    "out_for_delivery": _("Out for delivery"),
    "delivery_failed": _("Delivery attempt failed"),
    "split_parcels": _("Split into several parcels"),
    "delivered": _("Delivered"),
    "refund_pending": _("Refund in progress"),
    "refunded": _("Refunded"),
}

STAGE_BOOST = 0.08
ORDER_STATE_BOOST = 0.35
LANGUAGE_MISSING_PENALTY = 0.05
MIN_TEXT_SCORE = 0.05


@dataclass(frozen=True)
class ScriptDoc:
    script_id: int
    title: str
    stage: str
    topic: str
    text: str  # title, topic and examples
    order_states: frozenset[str]
    languages: frozenset[str]
    examples: tuple[str, ...] = ()  # the buyer phrasings, shown as the reason for a match


@dataclass(frozen=True)
class Ranked:
    script_id: int
    score: float
    text_score: float
    stage_match: bool
    order_state_match: bool
    has_language: bool
    matched_example: str


class SuggestionIndex:
    """A fitted TF-IDF index over scripts; built once per shop and scripts version."""

    def __init__(self, docs: list[ScriptDoc]) -> None:
        self.docs = docs
        self._vectorizer: TfidfVectorizer | None = None
        if not docs:
            return
        # Imported here, not with the module: scikit-learn (and SciPy under it) is over a second
        # of imports, and every Django process reaches this module at start-up (outreach's
        # app config) while only the ones that rank scripts need it.
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False
        )
        try:
            self._matrix = vectorizer.fit_transform([fold(d.text) for d in docs])
        except ValueError:
            # Scripts with no words to compare (titles and topics of one character, no
            # examples): there is nothing to rank by, so nothing is suggested.
            return
        self._vectorizer = vectorizer
        # Every example line, for the "wording close to ..." reason, in one matrix.
        examples: list[str] = []
        owners: list[int] = []
        for i, doc in enumerate(docs):
            for line in doc.examples:
                if line.strip():
                    examples.append(line.strip())
                    owners.append(i)
        self._examples = examples
        self._example_owner = np.asarray(owners, dtype=np.int64)
        # TF-IDF refuses to transform nothing: a shop whose scripts have no examples yet.
        self._example_matrix = (
            vectorizer.transform([fold(e) for e in examples]) if examples else None
        )
        self._stages = np.asarray([d.stage for d in docs])
        self._state_masks: dict[str, np.ndarray] = {}
        for i, doc in enumerate(docs):
            for state in doc.order_states:
                self._state_masks.setdefault(state, np.zeros(len(docs), dtype=bool))[i] = True
        self._language_masks: dict[str, np.ndarray] = {}
        for i, doc in enumerate(docs):
            for language in doc.languages:
                mask = self._language_masks.setdefault(language, np.zeros(len(docs), dtype=bool))
                mask[i] = True

    def rank(
        self,
        *,
        text: str,
        stage: str | None,
        language: str | None,
        order_state: str | None,
        limit: int,
    ) -> list[Ranked]:
        if not self.docs or self._vectorizer is None:
            return []
        n = len(self.docs)
        query = fold(text.strip())
        example_sims = np.zeros(len(self._examples))
        if query:
            vector = self._vectorizer.transform([query])
            text_scores = (self._matrix @ vector.T).toarray().ravel()
            if self._example_matrix is not None:
                example_sims = (self._example_matrix @ vector.T).toarray().ravel()
        else:
            text_scores = np.zeros(n)
        stage_match = (self._stages == stage) if stage else np.zeros(n, dtype=bool)
        state_match = (
            self._state_masks.get(order_state, np.zeros(n, dtype=bool))
            if order_state
            else np.zeros(n, dtype=bool)
        )
        has_language = (
            self._language_masks.get(language, np.zeros(n, dtype=bool))
            if language
            else np.ones(n, dtype=bool)
        )
        scores = (
            text_scores
            + STAGE_BOOST * stage_match
            + ORDER_STATE_BOOST * state_match
            - LANGUAGE_MISSING_PENALTY * ~has_language
        )
        eligible = np.flatnonzero((text_scores >= MIN_TEXT_SCORE) | state_match)
        if not len(eligible):
            return []
        ids = np.asarray([self.docs[i].script_id for i in eligible])
        # Best score first; equal scores in script id order, so results are stable.
        order = eligible[np.lexsort((ids, -scores[eligible]))][:limit]
        return [
            Ranked(
                script_id=self.docs[i].script_id,
                score=round(float(scores[i]), 4),
                text_score=round(float(text_scores[i]), 4),
                stage_match=bool(stage_match[i]),
                order_state_match=bool(state_match[i]),
                has_language=bool(has_language[i]),
                matched_example=self._closest_example(int(i), example_sims),
            )
            for i in order
        ]

    def _closest_example(self, i: int, example_sims: np.ndarray) -> str:
        """The example phrasing of doc `i` nearest to the query, for the reason."""
        positions = np.flatnonzero(self._example_owner == i)
        if not len(positions):
            return ""
        best = positions[int(example_sims[positions].argmax())]
        return self._examples[best] if example_sims[best] > 0 else ""
