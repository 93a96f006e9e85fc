"""Shared pytest configuration: loads the homeserver fixtures."""

pytest_plugins = ["tests.homeserver_fixtures"]
