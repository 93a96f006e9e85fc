"""Configuration: a YAML file becomes a frozen, validated ``Config``, or every problem at once.

``schema`` holds the sections, ``fields`` the value types they are made of, ``loading`` the
reading of the file (``${ENV}`` substitution, every problem with its key path and reason).
"""

from bot.config.loading import load_config, parse_config
from bot.config.schema import (
    AgendaConfig,
    AnnouncementsConfig,
    Config,
    DigestConfig,
    EventRemindersConfig,
    FeedConfig,
    MatrixConfig,
    RetentionConfig,
    TemplatesConfig,
    WebConfig,
)

__all__ = [
    "AgendaConfig",
    "AnnouncementsConfig",
    "Config",
    "DigestConfig",
    "EventRemindersConfig",
    "FeedConfig",
    "MatrixConfig",
    "RetentionConfig",
    "TemplatesConfig",
    "WebConfig",
    "load_config",
    "parse_config",
]
