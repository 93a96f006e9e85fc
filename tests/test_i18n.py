"""The catalogues: French and English say the same things, and every command has its help."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import pytest
import yaml

from bot.commands import meta
from bot.commands.declare import Command
from bot.i18n import LANGUAGES, catalogue, placeholders


def templates(language: str) -> dict[str, str]:
    """The messages of one catalogue file, by dotted key, read straight from the YAML."""
    text = resources.files("bot.i18n").joinpath(f"{language}.yaml").read_text("utf-8")
    return flatten(yaml.safe_load(text))


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def test_french_and_english_have_the_same_keys() -> None:
    """No message exists in one language only."""
    assert templates("fr").keys() == templates("en").keys()
    assert catalogue("fr").keys() == catalogue("en").keys() == templates("fr").keys()


@pytest.mark.parametrize("key", sorted(templates("fr")))
def test_each_message_has_the_same_placeholders_in_both_languages(key: str) -> None:
    """A message fills in the same {names} in French and in English."""
    assert placeholders(templates("fr")[key]) == placeholders(templates("en").get(key, ""))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("command", meta.router.commands, ids=lambda command: command.name)
def test_every_declared_command_has_usage_and_help(language: str, command: Command) -> None:
    """Each command of the meta router has its usage and help line in each language."""
    t = catalogue(language)
    assert t.has(command.usage_key)
    assert t.has(command.help_key)
    assert t(command.help_key)


def test_every_declared_command_has_a_word_in_each_language() -> None:
    """A member can type every command in French and in English."""
    for command in meta.router.commands:
        assert set(command.words) == set(LANGUAGES), command.name


def test_messages_are_filled_with_their_values() -> None:
    """A catalogue call fills in the named placeholders."""
    assert catalogue("en")("router.rate_limited", seconds=7).endswith("Try again in 7 s.")


def test_unknown_language_is_refused() -> None:
    """Only the supported languages have a catalogue."""
    with pytest.raises(ValueError, match="unsupported language"):
        catalogue("de")


def test_missing_key_names_the_key_and_the_language() -> None:
    """Asking for a message that does not exist fails loudly, naming it."""
    with pytest.raises(KeyError, match=r"nope\.missing"):
        catalogue("fr")("nope.missing")
