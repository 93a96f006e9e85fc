"""Newsletter subscriptions: sign-up and consent (``service``) in the member's DM (``dm``), the
addresses a Tchap id encodes (``addresses``), what a reply in the DM means (``replies``), the Grist
table in and out (``grist``), and each newsletter sent to every subscriber's DM (``fanout``)."""

from bot.services.subscriptions.dm import Correspondent, DirectChats, Where
from bot.services.subscriptions.service import CONSENT_VERSION, Subscriptions

__all__ = ["CONSENT_VERSION", "Correspondent", "DirectChats", "Subscriptions", "Where"]
