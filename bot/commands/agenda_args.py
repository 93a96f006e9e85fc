"""Arguments of the agenda commands, pure: periods, event numbers, subcommands, fields, times."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.errors import UsageError
from bot.services.agenda import Change, Field
from bot.services.announcements import safe_link
from bot.services.reminders.texts import moment
from bot.storage.agenda import NewEvent
from bot.when import OneOff, Parsed, parse_when

DEFAULT_DAYS = 30
MAX_DAYS = 366
RANGE_WORDS = {"semaine": 7, "week": 7, "mois": 30, "month": 30}
ADD_WORDS = frozenset({"ajouter", "ajout", "add"})
EDIT_WORDS = frozenset({"modifier", "changer", "edit", "change"})
DELETE_WORDS = frozenset({"supprimer", "retirer", "delete", "remove"})
FIELDS = {
    **dict.fromkeys(("heure", "debut", "date", "quand", "time", "start", "when"), Field.START),
    **dict.fromkeys(("fin", "end"), Field.END),
    **dict.fromkeys(("lieu", "place", "where"), Field.PLACE),
    **dict.fromkeys(("titre", "title"), Field.TITLE),
    **dict.fromkeys(("lien", "link", "url"), Field.LINK),
}
SENTINEL = "¤"  # stands for a title after a moment given alone, so parse_when can split it
_NUMBER = re.compile(r"(?:n[°o]\.?\s*|#)?(\d{1,9})", re.IGNORECASE)
_CLOCK = re.compile(r"([01]?\d|2[0-3])\s*(?:h|:)\s*([0-5]\d)?", re.IGNORECASE)
_CLOCK_12 = re.compile(r"(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*(am|pm)", re.IGNORECASE)
_TIME_WORDS = re.compile(
    r"\d\s*(?:h|:)|\d\s*(?:am|pm)\b|\b(?:midi|minuit|soir|matin|noon|midnight|tonight)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Show:
    """``!evenement <n>``."""

    number: int


@dataclass(frozen=True)
class Add:
    """``!evenement ajouter <quand> <titre> [| lieu] [| lien]``, still raw."""

    text: str


@dataclass(frozen=True)
class Edit:
    """``!evenement modifier <n> <champ> <valeur>``, still raw."""

    number: int
    field: str
    value: str


@dataclass(frozen=True)
class Delete:
    """``!evenement supprimer <n>``."""

    number: int


EventRequest = Show | Add | Edit | Delete


def plain(word: str) -> str:
    """Lower case, without accents: "Début" -> "debut"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def parse_range(args: str) -> int:
    """``!agenda`` period in days: a number, "semaine" or "mois"; 30 by default."""
    text = args.strip()
    if not text:
        return DEFAULT_DAYS
    days = RANGE_WORDS.get(plain(text)) or (int(text) if text.isdigit() else 0)
    if not 1 <= days <= MAX_DAYS:
        raise UsageError("agenda.bad_range", text=text)
    return days


def parse_number(text: str) -> int:
    """An event number: "12", "n°12" or "#12"."""
    found = _NUMBER.fullmatch(text.strip())
    if not text.strip():
        raise UsageError("agenda.missing_number")
    if found is None:
        raise UsageError("agenda.bad_number", text=text.strip())
    return int(found[1])


def parse_event_args(args: str) -> EventRequest:
    """The subcommand of ``!evenement`` and its arguments."""
    word, _, rest = args.strip().partition(" ")
    verb = plain(word)
    if verb in ADD_WORDS:
        if not rest.strip():
            raise UsageError("agenda.add_missing")
        return Add(rest.strip())
    if verb in EDIT_WORDS:
        number, field, value = [*rest.split(maxsplit=2), "", "", ""][:3]
        if not value.strip():
            raise UsageError("agenda.missing_value")
        return Edit(parse_number(number), field, value.strip())
    if verb in DELETE_WORDS:
        return Delete(parse_number(rest))
    return Show(parse_number(args))


def parse_new_event(
    text: str, *, now: datetime, tz: ZoneInfo, author: str, language: str
) -> NewEvent:
    """``<quand> <titre> [| lieu] [| lien]``; a moment without a time of day is "to be
    confirmed"; a lone second part that is a link is the link."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) > 3:
        raise UsageError("agenda.too_many_parts")
    if not all(parts):
        raise UsageError("agenda.empty_part")
    head = unicodedata.normalize("NFC", parts[0])
    parsed = _parse_when(head, now, tz, language, no_text="agenda.no_title")
    start, known = _start(parsed, head.removesuffix(parsed.text), tz)
    place, link = _place_and_link(parts[1:])
    return NewEvent(parsed.text, start, known, place, link, author)


def _parse_when(text: str, now: datetime, tz: ZoneInfo, language: str, no_text: str) -> Parsed:
    """``parse_when`` for a one-off moment; its errors said for events."""
    try:
        parsed = parse_when(text, now=now, tz=tz)
    except UsageError as error:
        if error.key == "when.past":
            raise UsageError("when.past", at=moment(error.params["at"], tz, language)) from None
        if error.key == "when.no_text":
            raise UsageError(no_text) from None
        raise
    if not isinstance(parsed.schedule, OneOff):
        raise UsageError("agenda.recurring")
    return parsed


def _start(parsed: Parsed, said: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """The start, and whether a time of day was said (else the day's local midnight)."""
    assert isinstance(parsed.schedule, OneOff)
    at = parsed.schedule.at
    if _TIME_WORDS.search(said):
        return at, True
    midnight = datetime.combine(at.astimezone(tz).date(), time(0), tzinfo=tz)
    return midnight.astimezone(UTC), False


def _place_and_link(extras: list[str]) -> tuple[str | None, str | None]:
    if len(extras) == 2:
        return extras[0], parse_link(extras[1])
    if len(extras) == 1 and extras[0].lower().startswith(("http://", "https://")):
        return None, parse_link(extras[0])
    return (extras[0] if extras else None), None


def parse_link(text: str) -> str:
    """An http(s) link."""
    link = safe_link(text.strip())
    if link is None or " " in link:
        raise UsageError("agenda.bad_link", link=text.strip())
    return link


def parse_clock(text: str) -> time | None:
    """A time of day alone: "14h30", "14:30", "9h", "2pm"; None otherwise."""
    value = text.strip()
    if plain(value) in ("midi", "noon"):
        return time(12)
    if found := _CLOCK.fullmatch(value):
        return time(int(found[1]), int(found[2] or 0))
    if found := _CLOCK_12.fullmatch(value):
        hour = int(found[1]) % 12 + (12 if found[3].lower() == "pm" else 0)
        return time(hour, int(found[2] or 0))
    return None


def parse_change(field: str, value: str, *, now: datetime, tz: ZoneInfo, language: str) -> Change:
    """``<champ> <valeur>`` of ``!evenement modifier``."""
    which = FIELDS.get(plain(field))
    if which is None:
        raise UsageError("agenda.unknown_field", field=field)
    if which is Field.LINK:
        return Change(which, text=parse_link(value))
    if which not in (Field.START, Field.END):
        return Change(which, text=value)
    clock = parse_clock(value)
    if clock is not None:
        return Change(which, clock=clock)
    return Change(which, moment=_moment(value, now, tz, language))


def _moment(value: str, now: datetime, tz: ZoneInfo, language: str) -> datetime:
    """A full moment ("jeudi 14h30", "le 3 décembre à 10h"), and nothing after it."""
    try:
        parsed = _parse_when(f"{value} {SENTINEL}", now, tz, language, no_text="agenda.bad_time")
    except UsageError as error:
        if error.key in ("when.unparsed", "when.bad_time"):
            raise UsageError("agenda.bad_time", text=value) from None
        raise
    if parsed.text != SENTINEL:
        raise UsageError("agenda.bad_time", text=value)
    assert isinstance(parsed.schedule, OneOff)
    return parsed.schedule.at
