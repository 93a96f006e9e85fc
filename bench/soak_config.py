"""The soak's bot configuration: the settings it needs beyond the shipped defaults, and the
``--set section.key=value`` overrides a person adds, each said in the output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

FEED_INTERVAL = 10  # seconds, the shortest the configuration accepts (shipped: 300)


@dataclass(frozen=True)
class Override:
    """One ``--set``: a dotted path into the YAML configuration and its value, read as YAML."""

    path: tuple[str, ...]
    value: Any
    text: str

    @classmethod
    def parse(cls, text: str) -> Override:
        key, separator, value = text.partition("=")
        if not separator or not key.strip() or "" in key.strip().split("."):
            raise ValueError(f"--set wants section.key=value, not {text!r}")
        return cls(tuple(key.strip().split(".")), yaml.safe_load(value), text)


def soak_settings(organiser: str, feed_urls: Sequence[str]) -> str:
    """The YAML the soak adds to the bot's base configuration: its organiser and the two feeds
    polled every ``FEED_INTERVAL`` seconds on the loopback server."""
    feeds = ", ".join(f'{{url: "{url}", interval: {FEED_INTERVAL}}}' for url in feed_urls)
    return f"""\
organisers: ["{organiser}"]
feeds: [{feeds}]
fetch: {{allow_private: ["127.0.0.1"]}}
"""


def overridden(text: str, overrides: Sequence[Override]) -> str:
    """The configuration ``text`` with each override set at its path (sections made as needed)."""
    tree = yaml.safe_load(text)
    for override in overrides:
        *sections, key = override.path
        node = tree
        for section in sections:
            child = node.setdefault(section, {})
            if not isinstance(child, dict):
                raise ValueError(f"--set {override.text}: {section} is not a section")
            node = child
        node[key] = override.value
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def lifted(overrides: Sequence[Override]) -> str:
    """What the output says about the defaults this run does not keep."""
    own = f"feeds[].interval={FEED_INTERVAL} s (shipped 300 s), fetch.allow_private=127.0.0.1"
    extra = ", ".join(override.text for override in overrides)
    return f"defaults lifted: {own}" + (f"; --set {extra}" if extra else "")
