"""What a member's plain reply in the DM means for a pending address offer (pure parsing)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.services.subscriptions.addresses import normalise_address

YES_WORDS = frozenset(
    {"oui", "yes", "ok", "okay", "d'accord", "daccord", "dac", "ouais", "y", "o", "confirmer",
     "je confirme", "confirm", "oui merci", "yes please", "c'est bien ça", "c'est ça", "exact"}
)  # fmt: skip
NO_WORDS = frozenset({"non", "no", "n", "non merci", "no thanks", "annuler", "cancel"})
THUMBS_UP = "\U0001f44d"
_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_NUMBER = re.compile(r"(?:n°|no\.?|#)?\s*(\d{1,2})")
_CODE = re.compile(r"(?:code\s*:?\s*)?(\d{3})[\s-]?(\d{3})")


@dataclass(frozen=True)
class Reply:
    """A reply understood: yes, no, the n-th candidate (1-based), an address typed out, or the
    six-digit code mailed to confirm an address."""

    kind: str  # yes · no · number · address · code
    number: int = 0
    address: str = ""
    code: str = ""


YES = Reply("yes")
NO = Reply("no")


def _plain(text: str) -> str:
    """Lower case, typographic apostrophes straightened, closing punctuation dropped."""
    text = unicodedata.normalize("NFC", text).strip().lower().replace("’", "'")
    return text.rstrip(" .!").strip()


def is_thumbs_up(key: str) -> bool:
    """A 👍 reaction, whatever its skin tone or presentation selector."""
    return _MODIFIERS.sub("", key.strip()) == THUMBS_UP


def parse_reply(body: str) -> Reply | None:
    """The meaning of a plain DM message, or None when it is not an answer to an offer."""
    text = _plain(body)
    if not text or len(text) > 320:
        return None
    if text in YES_WORDS or is_thumbs_up(text):
        return YES
    if text in NO_WORDS:
        return NO
    if number := _NUMBER.fullmatch(text):
        return Reply("number", number=int(number[1]))
    if code := _CODE.fullmatch(text):
        return Reply("code", code=code[1] + code[2])
    address = normalise_address(text)
    return Reply("address", address=address) if address else None


def chosen_address(reply: Reply, candidates: tuple[str, ...]) -> str | None:
    """The address a reply settles on, if it settles on one."""
    if reply.kind == "address":
        return reply.address
    if reply.kind == "yes" and len(candidates) == 1:
        return candidates[0]
    if reply.kind == "number" and 1 <= reply.number <= len(candidates):
        return candidates[reply.number - 1]
    return None
