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

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from kefu.automation.keywords import fold

# The order/parcel states the reply box may pass as `order_state` (the orders domain maps its
# own statuses onto these; R-18 parcel states plus order-level ones).
ORDER_STATES: dict[str, str] = {
    "unpaid": "placed, not paid",
    "awaiting_shipment": "paid, waiting to ship",
    "shipped_late": "shipped after the promised time",
    "oversold": "item out of stock",
    "info_received": "carrier has the parcel info",
    "in_transit": "parcel in transit",
    "stalled": "no tracking update for days",
    "at_customs": "parcel at customs",
    "available_for_pickup": "parcel waiting at the post office for pickup",
    "out_for_delivery": "parcel out for delivery",
    "delivery_failed": "delivery attempt failed",
    "split_parcels": "order shipped in several parcels",
    "delivered": "delivered",
    "refund_pending": "refund in progress",
    "refunded": "refunded",
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
    def __init__(self, docs: list[ScriptDoc]) -> None:
        self.docs = docs
        self._examples: list[list[str]] = [
            [line.strip() for line in d.text.splitlines() if line.strip()] for d in docs
        ]
        self._vectorizer: TfidfVectorizer | None = None
        if docs:
            self._vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False
            )
            self._matrix = self._vectorizer.fit_transform([fold(d.text) for d in docs])

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
        query = fold(text.strip())
        if query:
            sims = np.asarray((self._matrix @ self._vectorizer.transform([query]).T).todense())
            text_scores = sims.ravel()
        else:
            text_scores = np.zeros(len(self.docs))
        scores: list[tuple[float, int]] = []
        for i, doc in enumerate(self.docs):
            score = float(text_scores[i])
            if stage and doc.stage == stage:
                score += STAGE_BOOST
            if order_state and order_state in doc.order_states:
                score += ORDER_STATE_BOOST
            if language and language not in doc.languages:
                score -= LANGUAGE_MISSING_PENALTY
            scores.append((score, i))
        scores.sort(key=lambda pair: (-pair[0], self.docs[pair[1]].script_id))
        ranked: list[Ranked] = []
        for score, i in scores:
            doc = self.docs[i]
            state_match = bool(order_state and order_state in doc.order_states)
            if float(text_scores[i]) < MIN_TEXT_SCORE and not state_match:
                continue
            ranked.append(
                Ranked(
                    script_id=doc.script_id,
                    score=round(score, 4),
                    text_score=round(float(text_scores[i]), 4),
                    stage_match=bool(stage and doc.stage == stage),
                    order_state_match=state_match,
                    has_language=not language or language in doc.languages,
                    matched_example=self._closest_example(i, query) if query else "",
                )
            )
            if len(ranked) >= limit:
                break
        return ranked

    def _closest_example(self, i: int, query: str) -> str:
        """The example phrasing nearest to the query, for the human-readable reason."""
        examples = self._examples[i]
        if not examples or self._vectorizer is None:
            return ""
        vectors = self._vectorizer.transform([fold(e) for e in examples])
        sims = np.asarray((vectors @ self._vectorizer.transform([query]).T).todense()).ravel()
        best = int(sims.argmax())
        return examples[best] if sims[best] > 0 else ""
