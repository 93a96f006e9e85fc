"""The hub's feeds: fetch (HTTP) -> parse (feedparser) -> normalise (identity, kind, dates)."""
