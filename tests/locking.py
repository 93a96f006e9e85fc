"""Reads requirements.lock and what is installed, for the tests that hold them together."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PROJECT = "ssphub-bot"
RELOCK = "run .ci/lock, then pip install -c requirements.lock -e '.[dev]'"


def pins(text: str | None = None) -> dict[str, str]:
    """Package name -> locked version, for the lines whose markers hold on this machine."""
    found: dict[str, str] = {}
    for line in (LOCK.read_text("utf-8") if text is None else text).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (spec,) = requirement.specifier
            found[canonicalize_name(requirement.name)] = spec.version
    return found


def declared() -> list[Requirement]:
    """Every requirement pyproject.toml declares, runtime and every extra, the project's own
    extras aside."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    lines = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        lines += extra
    requirements = [Requirement(line) for line in lines]
    return [r for r in requirements if canonicalize_name(r.name) != PROJECT]


def needed(root: str = PROJECT, extras: frozenset[str] = frozenset()) -> dict[str, str]:
    """Name -> installed version of every distribution ``root[extras]`` needs, transitively,
    as the installed metadata says (a missing one is reported as version "missing")."""
    versions: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(canonicalize_name(root), extra) for extra in {"", *extras}]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
            continue
        versions[name] = distribution.version
        todo += _requirements_of(distribution, extra)
    return versions


def _requirements_of(distribution: metadata.Distribution, extra: str) -> list[tuple[str, str]]:
    """The (name, extra) pairs one extra (or, with "", the base) of ``distribution`` requires."""
    found: list[tuple[str, str]] = []
    for line in distribution.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is not None and not marker.evaluate({"extra": extra}):
            continue
        if marker is None and extra:
            continue  # the base requirements are walked once, with extra ""
        name = canonicalize_name(requirement.name)
        found += [(name, e) for e in {"", *requirement.extras}]
    return found


def mismatches(installed: dict[str, str], locked: dict[str, str]) -> list[str]:
    """Installed distributions whose version is not the locked one (the project aside)."""
    return [
        f"{name} {version} (lock: {locked.get(name, 'not pinned')})"
        for name, version in sorted(installed.items())
        if name != PROJECT and locked.get(name) != version
    ]
