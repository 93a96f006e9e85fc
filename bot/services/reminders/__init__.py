"""Organisers' reminders: set, list, cancel and fire once (``service``), their time maths
(``times``) and their words in the rooms (``texts``)."""

from bot.services.reminders.service import Draft, ReminderService, RoomDirectory

__all__ = ["Draft", "ReminderService", "RoomDirectory"]
