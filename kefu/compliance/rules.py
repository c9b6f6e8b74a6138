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

    def filled(self, values: dict[str, str]) -> Bilingual:
        """Both texts with each ``{name}`` of `values` replaced (a shop's own promises)."""
        zh, en = self.zh, self.en
        for name, value in values.items():
            zh = zh.replace("{" + name + "}", value)
            en = en.replace("{" + name + "}", value)
        return Bilingual(zh, en)


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


# What a suggested wording promises when the shop's own promise is not known: the platforms'
# usual shipping promise and the time card refunds take to reach cross-border buyers.
DEFAULT_SHIP_BY_HOURS = 72
DEFAULT_REFUND_DAYS = "3–20"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    requirement: str
    severity: Severity
    title: Bilingual
    explanation: Bilingual
    # May hold {ship_by_hours} and {refund_days}: filled with the shop's own promises.
    alternative: Bilingual
    penalty: Penalty

    def alternative_for(self, *, ship_by_hours: int, refund_days: str) -> Bilingual:
        return self.alternative.filled(
            {"ship_by_hours": str(ship_by_hours), "refund_days": refund_days}
        )


@dataclass(frozen=True, slots=True)
class RulePack:
    platform: str
    version: str
    rules: tuple[Rule, ...]
    # Hosts a link may point at without counting as another shop or an outside payment page.
    own_hosts: tuple[str, ...] = field(default=())

    # Rules by code, built once: the scanner asks for rules by code many times per check.
    by_code: dict[str, Rule] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_code", {rule.code: rule for rule in self.rules})

    def rule(self, code: str) -> Rule | None:
        return self.by_code.get(code)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(rule.code for rule in self.rules)
