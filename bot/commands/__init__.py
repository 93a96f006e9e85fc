"""Commands: the router of declared commands, and one module per family of commands."""
