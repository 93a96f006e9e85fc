"""Newsletter subscriptions: sign-up and consent in the DM (``service``), the addresses a Tchap id
encodes (``addresses``), what a reply in the DM means (``replies``), the Grist table in and out
(``grist``), and each newsletter sent to every subscriber's DM (``fanout``)."""

from bot.services.subscriptions.service import (
    CONSENT_VERSION,
    Correspondent,
    DirectChats,
    Subscriptions,
)

__all__ = ["CONSENT_VERSION", "Correspondent", "DirectChats", "Subscriptions"]
