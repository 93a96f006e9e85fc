"""The words of the "when" grammar: French and English tables, and the regexes built on them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import time

# Every pattern runs on text lower-cased, accent-free and with "après-midi" as "apres midi"
# (grammar.normalise), so tables hold that spelling.
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FRENCH_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ENGLISH_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS: Mapping[str, int] = {
    name: i for names in (FRENCH_DAYS, ENGLISH_DAYS) for i, name in enumerate(names)
}
_MONTH_NAMES = (
    "janvier janv jan january | fevrier fevr fev february feb | mars march mar | "
    "avril avr april apr | mai may | juin june jun | juillet juil july jul | aout august aug | "
    "septembre sept sep september | octobre oct october | novembre nov november | "
    "decembre dec december"
)
MONTHS: Mapping[str, int] = {
    name: i for i, names in enumerate(_MONTH_NAMES.split("|"), 1) for name in names.split()
}
PARTS: Mapping[str, time] = {
    **dict.fromkeys(("matin", "morning"), time(9)),
    **dict.fromkeys(("midi", "noon"), time(12)),
    **dict.fromkeys(("apres midi", "aprem", "afternoon"), time(14)),
    **dict.fromkeys(("soir", "soiree", "evening"), time(18)),
}
# word -> (days from today, time implied); "ce"/"cet"/"this" only count before a part of day.
DAY_WORDS: Mapping[str, tuple[int, time | None]] = {
    **dict.fromkeys(("aujourd'hui", "aujourdhui", "today"), (0, None)),
    **dict.fromkeys(("ce", "cet", "cette", "this"), (0, None)),
    "tonight": (0, time(18)),
    **dict.fromkeys(("demain", "tomorrow"), (1, None)),
    **dict.fromkeys(("apres demain", "day after tomorrow"), (2, None)),
}
ORDINALS: Mapping[str, str] = {
    **dict.fromkeys(("premier", "premiere", "1er", "1re", "first", "1st"), "1st"),
    **dict.fromkeys(("deuxieme", "2e", "2eme", "second", "seconde", "2nd"), "2nd"),
    **dict.fromkeys(("troisieme", "3e", "3eme", "third", "3rd"), "3rd"),
    **dict.fromkeys(("quatrieme", "4e", "4eme", "fourth", "4th"), "4th"),
    **dict.fromkeys(("cinquieme", "5e", "5eme", "fifth", "5th"), "5th"),
    **dict.fromkeys(("dernier", "derniere", "last"), "last"),
}
_NUMBER_WORDS = (
    "un:1 une:1 a:1 an:1 one:1 deux:2 two:2 trois:3 three:3 quatre:4 four:4 cinq:5 five:5 six:6 "
    "sept:7 seven:7 huit:8 eight:8 dix:10 ten:10 quinze:15 vingt:20 trente:30"
)
NUMBERS: Mapping[str, int] = {
    word: int(n) for word, n in (pair.split(":") for pair in _NUMBER_WORDS.split())
}
HOUR_UNITS = ("h", "heure", "heures", "hour", "hours")
# unit -> (kind, amount): minutes are real time, days and months follow the calendar.
UNITS: Mapping[str, tuple[str, int]] = {
    **dict.fromkeys(("minute", "minutes", "min", "mn"), ("minutes", 1)),
    **dict.fromkeys(("demi heure", "half hour"), ("minutes", 30)),
    **dict.fromkeys(("quart d'heure", "quart d heure"), ("minutes", 15)),
    **dict.fromkeys(HOUR_UNITS, ("minutes", 60)),
    **dict.fromkeys(("jour", "jours", "day", "days"), ("days", 1)),
    **dict.fromkeys(("semaine", "semaines", "week", "weeks"), ("days", 7)),
    **dict.fromkeys(("mois", "month", "months"), ("months", 1)),
}


def _alt(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first, a space matching any whitespace."""
    ordered = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in ordered) + ")"


_END = r"(?![\w'])"  # a word ends here
_SEP = r"(?:\s*,\s*|\s+)"
_WD = _alt(WEEKDAYS)
_PART = _alt(PARTS)
_EVERY = r"(?:chaque|tous\s+les|toutes\s+les|every|each)"
_LEAD = rf"(?:(?:le|on|the)\s+)?(?:{_WD}\s+)?(?:(?:le|the)\s+)?"
_AT = r"(?:(?:a|at|vers)\s+|@\s*)"
_TIME = (
    rf"(?:{_AT}?(?:"
    r"(?P<ah>\d{1,2})(?::(?P<am>\d{2}))?\s*(?P<ap>am|pm)"
    r"|(?P<h>\d{1,2})\s*h(?:eures?)?(?:\s*(?P<m>\d{2}))?"
    r"|(?P<ch>\d{1,2}):(?P<cm>\d{2})"
    r"|(?P<word>midi|minuit|noon|midnight))"
    rf"|{_AT}(?P<bh>[01]?\d|2[0-3])){_END}"  # a bare hour only after "à": "demain à 9"
)

SEP = re.compile(_SEP)
WEEKDAY_NAME = re.compile(_WD)
HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
TIME_FIRST = re.compile(_TIME)
TIME_NEXT = re.compile(_SEP + _TIME)
PART_NEXT = re.compile(rf"{_SEP}(?P<part>{_PART}){_END}")
DAY_WORD = re.compile(
    rf"(?P<w>{_alt(k for k in DAY_WORDS if not k.startswith(('ce', 'th')))}{_END}"
    rf"|(?:ce|cet|cette|this)(?=\s+{_PART}{_END}))"
)
WEEKDAY = re.compile(
    rf"(?:(?P<pre>le|ce|this|on|next)\s+)?(?P<wd>{_WD})"
    rf"(?:\s+(?P<post>prochaine?|en\s+huit))?{_END}"
)
DATE_NAMED = re.compile(
    rf"{_LEAD}(?P<d>\d{{1,2}})(?:er|re|eme|e|st|nd|rd|th)?\s+(?:de\s+|of\s+)?"
    rf"(?P<mon>{_alt(MONTHS)})\.?(?:\s+(?P<y>\d{{4}}))?{_END}"
)
DATE_NUMERIC = re.compile(
    rf"{_LEAD}(?P<d>\d{{1,2}})/(?P<mon>\d{{1,2}})(?:/(?P<y>\d{{4}}|\d{{2}}))?{_END}"
)
DATE_DAY = re.compile(rf"(?:le|the|on\s+the)\s+(?P<d>\d{{1,2}})(?:er|e|st|nd|rd|th)?{_END}")
DATE_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mon>\d{1,2})-(?P<d>\d{1,2})"
    rf"(?:t(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?::\d{{2}})?)?{_END}"
)
RELATIVE = re.compile(
    rf"(?:dans|in)\s+(?P<n>\d{{1,3}}|{_alt(NUMBERS)})\s*(?:(?P<hu>{_alt(HOUR_UNITS)})"
    r"(?:\s*(?:et\s+|and\s+)?(?:(?P<half>demie?|a\s+half)|(?P<extra>\d{1,2})"
    rf"(?:\s*(?:minutes?|min|mn))?))?|(?P<unit>{_alt(UNITS)})){_END}"
)
DAILY = re.compile(
    rf"(?:{_EVERY}\s+(?:jours?|days?)|quotidiennement|daily"
    rf"|{_EVERY}\s+(?P<part>{_PART})s?){_END}"
)
WEEKLY = re.compile(
    rf"(?:{_EVERY}|(?:toutes\s+les\s+semaines|chaque\s+semaine|every\s+week),?\s+(?:le|les|on))"
    rf"\s+(?P<days>{_WD}s?(?:(?:\s*,\s*|\s+(?:et|and)\s+){_WD}s?)*){_END}"
)
WORKDAYS = re.compile(
    r"(?:en\s+semaine|(?:tous\s+)?les\s+jours\s+ouvres|(?:every\s+|on\s+)?weekdays|every\s+weekday"
    rf"|(?:{_EVERY}\s+jours?\s+)?du\s+(?P<a>{_WD})\s+au\s+(?P<b>{_WD})){_END}"
)
NTH = re.compile(
    rf"(?:(?:le|les|chaque|tous\s+les|every|each|the|on\s+the)\s+)?(?P<ord>{_alt(ORDINALS)})s?"
    rf"\s+(?P<wd>{_WD}|jour|day)s?\s+(?:du|de\s+chaque|de\s+tous\s+les|of\s+the|of\s+every"
    rf"|of\s+each)\s+(?:mois|month){_END}"
)
MONTH_DAY = re.compile(
    r"(?:(?:(?:le|les|chaque|tous\s+les|every|each|the|on\s+the)\s+)?(?P<d>\d{1,2})"
    r"(?:er|e|eme|st|nd|rd|th)?\s+(?:du\s+mois|de\s+chaque\s+mois|de\s+tous\s+les\s+mois"
    r"|of\s+(?:the|every|each)\s+month)|(?:chaque\s+mois|tous\s+les\s+mois|every\s+month|monthly)"
    rf",?\s+(?:le|on\s+the|the)\s+(?P<d2>\d{{1,2}})(?:er|e|st|nd|rd|th)?){_END}"
)
