"""What every router of the orders API answers on a refusal."""

from __future__ import annotations

from ninja import Schema


class Problem(Schema):
    detail: str
