"""Buyer language detection (R-11), restricted to the languages a shop serves.

One lingua detector per language set is built per process on first use and reused. Scripts
decide the easy cases before lingua runs: Han characters mean Chinese, Cyrillic means
Russian (the only Cyrillic language served), so short Chinese and Russian messages cost
almost nothing; lingua separates the Latin-script languages.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LINGUA_BY_CODE = {
    "en": Language.ENGLISH,
    "ru": Language.RUSSIAN,
    "es": Language.SPANISH,
    "zh-hans": Language.CHINESE,
}
CODE_BY_LINGUA = {lang: code for code, lang in LINGUA_BY_CODE.items()}
MIN_LETTERS = 2


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float


@lru_cache(maxsize=8)
def detector_for(languages: frozenset[str]) -> LanguageDetector:
    chosen = [LINGUA_BY_CODE[c] for c in sorted(languages) if c in LINGUA_BY_CODE]
    if len(chosen) < 2:
        chosen = list(LINGUA_BY_CODE.values())
    return LanguageDetectorBuilder.from_languages(*chosen).build()


def warm_up() -> None:
    """Build the detectors intake uses and load their models (lingua loads them lazily)."""
    latin = frozenset(c for c in LINGUA_BY_CODE if c in {"en", "es"})
    detector_for(latin).compute_language_confidence_values("where is my parcel")


def _script_counts(text: str) -> tuple[int, int, int, int]:
    han = cyr = latin = letters = 0
    for ch in text:
        if not ch.isalpha():
            continue
        letters += 1
        if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff":
            han += 1
        elif "\u0400" <= ch <= "\u04ff":
            cyr += 1
        elif unicodedata.name(ch, "").startswith("LATIN"):
            latin += 1
    return han, cyr, latin, letters


@lru_cache(maxsize=4096)
def detect(text: str, languages: frozenset[str]) -> Detection | None:
    """The most likely language among `languages`, or None when the text says too little.
    Kept per text: buyers send the same short texts ("在吗", "hi") again and again, and the
    intake worker detects hundreds per batch (decisions §47); a `Detection` is immutable."""
    han, cyr, latin, letters = _script_counts(text)
    if letters < MIN_LETTERS and han == 0:
        return None
    if han and "zh-hans" in languages and han >= max(cyr, latin) / 3:
        return Detection("zh-hans", 1.0 if han >= latin else 0.8)
    if cyr and "ru" in languages and cyr >= latin:
        return Detection("ru", 1.0)
    latin_languages = frozenset(c for c in languages if c in {"en", "es"})
    if len(latin_languages) == 1:
        return Detection(next(iter(latin_languages)), 0.6)
    if not latin_languages:
        return None
    values = detector_for(latin_languages).compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    code = CODE_BY_LINGUA.get(best.language)
    if code is None or code not in languages:
        return None
    return Detection(code, float(best.value))
