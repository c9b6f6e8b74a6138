"""What a rule-guard check takes (the conversation's context) and gives back (a verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kefu.compliance.rules import (
    DEFAULT_REFUND_DAYS,
    DEFAULT_SHIP_BY_HOURS,
    Bilingual,
    Rule,
    Severity,
)

VerdictName = Literal["ok", "warn", "block"]


@dataclass(frozen=True, slots=True)
class CheckContext:
    platform: str = "taobao"
    # The listing under discussion promises free shipping (包邮).
    free_shipping: bool = False
    # The listing itself sets postage for some regions (e.g. Xinjiang, Tibet): asking the buyer to
    # pay "the postage shown on the page" is then allowed even though the rest ships free.
    regional_postage: bool = False
    # None: not known (no order in the conversation); privacy then stays silent.
    recipient_is_paying_buyer: bool | None = None
    # None: not known; "sold out" claims are then not judged.
    stock_available: bool | None = None
    # The conversation is about a refund or return, whatever this message says.
    refund_talk: bool = False
    # "zh" or "en": which language a report shows first. Matching always covers both.
    language: str | None = None
    # The shop's own promises, written into the suggested wording instead of fixed numbers.
    ship_by_hours: int = DEFAULT_SHIP_BY_HOURS
    refund_days: str = DEFAULT_REFUND_DAYS


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    start: int
    end: int
    match: str
    rule: Rule
    # The rule's suggested wording with the shop's promises filled in.
    alternative: Bilingual
    # "rules", or "model": the n-gram model behind the rules (kefu/compliance/model.py), which
    # only warns and always says why in `reason` (the phrases that pushed it).
    source: str = "rules"
    reason: Bilingual | None = None

    @classmethod
    def of(
        cls,
        rule: Rule,
        text: str,
        span: tuple[int, int],
        context: CheckContext,
        *,
        severity: Severity | None = None,
        source: str = "rules",
        reason: Bilingual | None = None,
    ) -> Finding:
        """`rule` found at ``text[start:end]`` (original coordinates), its suggested wording
        filled with the shop's promises from `context`: the one constructor the rules' loop
        (scanner.judge) and the model (model.findings_behind) share, so both fill the same
        fields the same way. `severity` defaults to the rule's own."""
        start, end = span
        return cls(
            code=rule.code,
            severity=rule.severity if severity is None else severity,
            start=start,
            end=end,
            match=text[start:end],
            rule=rule,
            alternative=rule.alternative_for(
                ship_by_hours=context.ship_by_hours, refund_days=context.refund_days
            ),
            source=source,
            reason=reason,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "requirement": self.rule.requirement,
            "span": [self.start, self.end],
            "match": self.match,
            "title": self.rule.title.as_dict(),
            "explanation": self.rule.explanation.as_dict(),
            "alternative": self.alternative.as_dict(),
            "penalty": self.rule.penalty.as_dict(),
            "source": self.source,
            "reason": None if self.reason is None else self.reason.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictName
    findings: tuple[Finding, ...]
    platform: str
    pack_version: str
    context: CheckContext = field(default_factory=CheckContext)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "platform": self.platform,
            "pack_version": self.pack_version,
            "findings": [f.as_dict() for f in self.findings],
        }
