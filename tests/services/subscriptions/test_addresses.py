"""Addresses from Tchap ids, address syntax, names for the contact table, and DM replies."""

from __future__ import annotations

import pytest

from bot.services.subscriptions.addresses import (
    candidates_for,
    domain_of,
    name_for,
    normalise_address,
)
from bot.services.subscriptions.replies import NO, YES, Reply, is_thumbs_up, parse_reply


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("@prenom.nom-insee.fr:agent.finances.tchap.gouv.fr", ["prenom.nom@insee.fr"]),
        (
            "@jean.marie-dupont-interieur.gouv.fr:agent.interieur.tchap.gouv.fr",
            ["jean.marie-dupont@interieur.gouv.fr", "jean.marie@dupont-interieur.gouv.fr"],
        ),
        (
            "@jean-marie.dupont-developpement-durable.gouv.fr:agent.dev-durable.tchap.gouv.fr",
            [
                "jean-marie.dupont-developpement@durable.gouv.fr",
                "jean-marie.dupont@developpement-durable.gouv.fr",
                "jean@marie.dupont-developpement-durable.gouv.fr",
            ],
        ),
        ("@anne.o=27neil-insee.fr:agent.tchap.gouv.fr", ["anne.o'neil@insee.fr"]),
        ("@Prenom.Nom-INSEE.fr:agent.tchap.gouv.fr", ["prenom.nom@insee.fr"]),
        ("@alice:localhost", []),
        ("@alice-abc123:localhost", []),
        ("@-insee.fr:agent.tchap.gouv.fr", []),
    ],
)
def test_candidates_from_a_tchap_id(user_id: str, expected: list[str]) -> None:
    """Every hyphen followed by a plausible domain is a candidate, the shortest domain first."""
    assert candidates_for(user_id) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prenom.nom@insee.fr", "prenom.nom@insee.fr"),
        ("  <Prenom.Nom@Insee.Fr> ", "prenom.nom@insee.fr"),
        ("mailto:a.b+news@sub.domaine.gouv.fr", "a.b+news@sub.domaine.gouv.fr"),
        ("prenom.nom@insee", None),
        ("prenom..nom@insee.fr", None),
        (".prenom@insee.fr", None),
        ("prenom nom@insee.fr", None),
        ("prenom@-insee.fr", None),
        ("prenom@insee.f", None),
        ("@insee.fr", None),
        ("a" * 65 + "@insee.fr", None),
        ("", None),
    ],
)
def test_address_syntax(text: str, expected: str | None) -> None:
    """Addresses are trimmed and lower-cased; malformed ones are refused."""
    assert normalise_address(text) == expected


def test_names_and_domains_for_the_contact_table() -> None:
    """The display name loses its [Organisation]; without one, the address gives the name."""
    assert name_for("camille.durand@insee.fr", "Camille Durand [Insee]") == "Camille Durand"
    assert name_for("jean-marie.dupont@insee.fr", None) == "Jean-Marie Dupont"
    assert name_for("jm_dupont@insee.fr", "@jm:localhost") == "Jm Dupont"
    assert domain_of("camille.durand@insee.fr") == "insee.fr"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("oui", YES),
        ("Oui !", YES),
        ("D’accord.", YES),
        ("yes", YES),
        ("👍", YES),
        ("👍🏾", YES),
        ("non", NO),
        ("2", Reply("number", number=2)),
        ("n°1", Reply("number", number=1)),
        ("Prenom.Nom@insee.fr", Reply("address", address="prenom.nom@insee.fr")),
        ("oui mais plus tard peut-être", None),
        ("bonjour", None),
        ("", None),
        ("123", None),
    ],
)
def test_plain_replies_in_the_dm(body: str, expected: Reply | None) -> None:
    """Yes, no, a number or an address are answers to an offer; other chatter is not."""
    assert parse_reply(body) == expected


def test_thumbs_up_in_any_skin_tone() -> None:
    """👍 counts whatever its skin tone or presentation selector; other emoji do not."""
    assert is_thumbs_up("👍") and is_thumbs_up("👍🏻") and is_thumbs_up("👍\ufe0f")
    assert not is_thumbs_up("👎") and not is_thumbs_up("❤️")
