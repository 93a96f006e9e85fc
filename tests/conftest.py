"""Shared pytest configuration: the homeserver and storage fixtures."""

pytest_plugins = ["tests.homeserver_fixtures", "tests.storage_fixtures"]
