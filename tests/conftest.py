"""Shared pytest configuration: the homeserver and storage fixtures, the hypothesis profile."""

import os

from hypothesis import settings

pytest_plugins = ["tests.homeserver_fixtures", "tests.storage_fixtures"]

# CI explores the same examples on every run, so a submission fails for what it changed only;
# runs elsewhere draw new examples each time and keep the failing ones in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
