"""E-mail addresses: syntax, the address a Tchap id encodes, names and domains for the export."""

from __future__ import annotations

import re

MAX_CANDIDATES = 5
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = rf"{_ATOM}(?:\.{_ATOM})*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS = re.compile(rf"(?P<local>{_LOCAL})@(?P<domain>(?:{_LABEL}\.)+[a-z]{{2,63}})")
_ESCAPE = re.compile(r"=([0-9a-f]{2})")
_ORGANISATION = re.compile(r"\s*\[[^\]]*\]\s*$")


def normalise_address(text: str) -> str | None:
    """The address in ``text``, lower-cased, if its syntax is acceptable; else None."""
    address = text.strip().removeprefix("mailto:").strip("<>").strip().lower()
    match = _ADDRESS.fullmatch(address)
    if match is None or len(address) > 254 or len(match["local"]) > 64:
        return None
    return address


def _localpart(user_id: str) -> str:
    """The localpart of ``@localpart:server``, with Synapse's ``=xx`` escapes decoded."""
    local = user_id.removeprefix("@").partition(":")[0].lower()
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), local)


def candidates_for(user_id: str) -> list[str]:
    """The addresses a Tchap id may encode, likeliest first.

    Tchap writes ``prenom.nom@insee.fr`` as ``@prenom.nom-insee.fr:server``: the address's "@"
    became a hyphen, so every hyphen followed by a plausible domain is a possible split. Names
    carry hyphens more often than domains, so the rightmost split (shortest domain) comes first.
    """
    local = _localpart(user_id)
    found: list[str] = []
    for index in range(len(local) - 1, 0, -1):
        if local[index] != "-":
            continue
        address = normalise_address(f"{local[:index]}@{local[index + 1 :]}")
        if address is not None and address not in found:
            found.append(address)
    return found[:MAX_CANDIDATES]


def domain_of(address: str) -> str:
    """The domain of an address (``insee.fr`` for ``prenom.nom@insee.fr``)."""
    return address.rpartition("@")[2]


def name_for(address: str, display_name: str | None) -> str:
    """A person's name for the contact table: the display name without its Tchap
    ``[Organisation]`` suffix, else one guessed from the address (``Prenom Nom``)."""
    if display_name and not display_name.startswith("@"):
        name = _ORGANISATION.sub("", display_name).strip()
        if name:
            return name
    local = address.partition("@")[0]
    words = [word for word in re.split(r"[._]+", local) if word]
    return " ".join("-".join(part.capitalize() for part in word.split("-")) for word in words)
