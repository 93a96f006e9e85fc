"""Commands: the dispatcher, what routers declare, and one module per family of commands."""
