"""What every router of the orders API answers on a refusal: the API's one error shape."""

from __future__ import annotations

from kefu.core.schema_types import ErrorOut as Problem

__all__ = ["Problem"]
