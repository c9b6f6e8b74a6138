"""What a rule is: a stable code, its requirement, how bad it is and what to say instead.

Rules are data; the scanner decides *whether* a rule applies, a rule pack decides *which* rules a
shop's platform enforces and how severely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class Penalty:
    """What breaking the rule risks. ``points`` and ``compensation_pct`` are None when not fixed."""

    text: Bilingual
    points: int | None = None
    compensation_pct: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "points": self.points,
            "compensation_pct": self.compensation_pct,
            "zh": self.text.zh,
            "en": self.text.en,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    requirement: str
    severity: Severity
    title: Bilingual
    explanation: Bilingual
    alternative: Bilingual
    penalty: Penalty


@dataclass(frozen=True, slots=True)
class RulePack:
    platform: str
    version: str
    rules: tuple[Rule, ...]
    # Hosts a link may point at without counting as another shop or an outside payment page.
    own_hosts: tuple[str, ...] = field(default=())

    def rule(self, code: str) -> Rule | None:
        for rule in self.rules:
            if rule.code == code:
                return rule
        return None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(rule.code for rule in self.rules)
