"""Local sandbox: a throwaway homeserver and sample feeds for trying the bot."""
