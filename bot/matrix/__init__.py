"""The Matrix layer: the only package that knows the protocol and imports nio."""
