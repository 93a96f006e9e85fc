"""The hub's feeds: fetch (HTTP) -> parse (feedparser) -> normalise -> watch, plan and record."""
