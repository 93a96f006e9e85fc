"""The agenda: feed events and organisers' events merged (``service``), their words (``texts``),
and the automatic posts before each event and every week (``slots`` when, ``posts`` what)."""

from bot.services.agenda.service import Agenda, AgendaEvent, Change, Field, NewEvent, Newsletter

__all__ = ["Agenda", "AgendaEvent", "Change", "Field", "NewEvent", "Newsletter"]
