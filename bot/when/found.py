"""What the grammar finds at the start of a text, and the time of day a bare day means: apart
from the grammar, whose patterns are compiled only when a first time expression is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

DEFAULT_TIME = time(9, 0)
"""Time of day meant when only a day is given: ``demain``, ``3 décembre``, ``chaque lundi``."""


@dataclass(frozen=True)
class Found:
    """A time expression at the start of a text: where it ends, and what it means."""

    end: int
    value: datetime | dict[str, str]  # a one-off moment (aware) or CronTrigger fields
