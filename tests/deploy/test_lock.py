"""requirements.lock pins every dependency pyproject.toml declares, and the tests run with it."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from tests.locking import RELOCK, declared, mismatches, needed, pins


def test_the_lock_pins_every_declared_requirement_within_its_range() -> None:
    """Each requirement of pyproject.toml (runtime and extras) has a locked version it allows."""
    locked = pins()
    stale = []
    for requirement in declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (lock: {version or 'not pinned'})")
    assert not stale, f"requirements.lock is behind pyproject.toml: {stale}; {RELOCK}"


def test_the_tests_run_with_the_locked_versions() -> None:
    """Every distribution the test extra needs is installed at the version the lock pins."""
    installed = needed(extras=frozenset({"test"}))
    assert "sqlalchemy" in installed and "pytest" in installed
    wrong = mismatches(installed, pins())
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}; {RELOCK}"


def test_lock_lines_with_markers_are_read_only_where_they_apply() -> None:
    """A pin marked for another platform is left out, an unmarked one is read."""
    text = "colorama==0.4.6 ; sys_platform == 'nonesuch'\n    # via pytest\nPyYAML==6.0.4\n"
    assert pins(text) == {"pyyaml": "6.0.4"}
