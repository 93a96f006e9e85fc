"""ssphub-bot: the SSP Hub's community bot for Tchap (Matrix)."""

__version__ = "0.1.0"
