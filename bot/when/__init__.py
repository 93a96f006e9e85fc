"""The time grammar, pure: French (and English) words to a moment or a calendar rule.

``parse`` splits a command's text into its leading time expression and the rest; ``grammar``
reads the common phrasings, ``words`` holds their vocabulary. Putting a schedule back into words
is ``bot.services.dates``' business.
"""

from bot.when.parse import DEFAULT_TIME, OneOff, Parsed, Recurring, Schedule, parse_when

__all__ = ["DEFAULT_TIME", "OneOff", "Parsed", "Recurring", "Schedule", "parse_when"]
