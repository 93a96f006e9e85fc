"""User-facing text: one YAML catalogue per language (French first, English complete)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

# libyaml's safe loader when PyYAML has it (its wheels do): a tenth of the pure-Python one's
# time on our catalogues, read on the way to the first answer.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


class Catalogue:
    """The messages of one language, looked up by dotted key and filled with named values."""

    def __init__(self, language: str, messages: Mapping[str, str]) -> None:
        self.language = language
        self._messages = messages

    def __call__(self, key: str, **params: Any) -> str:
        """The message ``key`` with its ``{placeholders}`` filled in."""
        template = self._messages.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in the {self.language} catalogue")
        return template.format_map(params)

    def has(self, key: str) -> bool:
        return key in self._messages

    def keys(self) -> frozenset[str]:
        return frozenset(self._messages)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = str(value)
    return flat


@cache
def catalogue(language: str = DEFAULT_LANGUAGE) -> Catalogue:
    """The catalogue of ``language`` (one of ``LANGUAGES``), loaded once."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    text = resources.files(__package__).joinpath(f"{language}.yaml").read_text("utf-8")
    return Catalogue(language, _flatten(yaml.load(text, Loader=_LOADER)))


def placeholders(template: str) -> frozenset[str]:
    """The names a template expects, so catalogues can be checked against each other."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
