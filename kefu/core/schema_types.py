"""Value types the API's schemas share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator


def _wall_clock(value: dt.time) -> dt.time:
    # Opening hours and quiet hours are read on the shop's own clock (its time zone setting);
    # an offset would mean a different zone per field.
    if value.tzinfo is not None:
        raise ValueError("give the time without an offset: it is read in the shop's time zone")
    return value


LocalTime = Annotated[dt.time, AfterValidator(_wall_clock)]
