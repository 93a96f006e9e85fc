"""Loading: YAML becomes a ``Config`` with ``${ENV}`` substituted, or every problem is listed."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from bot.config.schema import Config
from bot.errors import ConfigError

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_ENV_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CHANGE_ME = re.compile(r"change_?me", re.IGNORECASE)


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``; raise ``ConfigError`` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the file ({error})"]) from None
    return parse_config(text, source=str(path), environ=os.environ if environ is None else environ)


def parse_config(text: str, *, source: str, environ: Mapping[str, str]) -> Config:
    """Validate YAML ``text``; ``source`` names the file in every problem."""
    tree = _read_yaml(text, source)
    if not isinstance(tree, dict):
        reason = "the file is empty" if tree is None else "the top level must be a mapping"
        raise ConfigError([f"{source}: {reason}"])
    value_problems: list[Problem] = []
    tree = _resolve(tree, (), environ, value_problems)
    config, schema_problems = _validate(tree, skip={loc for loc, _ in value_problems})
    problems = [f"{source}: {_format_loc(loc)}: {why}" for loc, why in value_problems]
    problems += [f"{source}: {_format_loc(loc)}: {why}" for loc, why in schema_problems]
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _read_yaml(text: str, source: str) -> object:
    """The parsed YAML tree; a syntax error is refused with its line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError([f"{where}: {_yaml_reason(error)}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{source}: {error}"]) from None


def _yaml_reason(error: yaml.MarkedYAMLError) -> str:
    reason = str(error.problem or error.context or "invalid YAML")
    if "'\\t'" in reason:
        return f"{reason}; indent with spaces, not tabs"
    if "constructor for the tag" in reason or "cannot start any" in reason:
        return f"{reason}; values starting with '!', '@', '%' or '`' must be put in quotes"
    return reason


def _resolve(node: Any, loc: Loc, environ: Mapping[str, str], problems: list[Problem]) -> Any:
    """Substitute ``${NAME}`` in every string of the tree and refuse placeholders."""
    if isinstance(node, dict):
        return {k: _resolve(v, (*loc, str(k)), environ, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, (*loc, i), environ, problems) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    missing: list[str] = []
    value = _ENV_REFERENCE.sub(lambda match: _expand(match, environ, missing), node)
    problems += [(loc, reason) for reason in missing]
    if not missing and _is_placeholder(value):
        problems.append((loc, "placeholder value, replace it"))
    return value


def _expand(match: re.Match[str], environ: Mapping[str, str], problems: list[str]) -> str:
    """The text for one ``$$``, ``${NAME}`` or ``${NAME:-default}``."""
    if match[0] == "$$":
        return "$"
    name, has_default, default = (match[1] or "").partition(":-")
    if match[1] is None or not _ENV_NAME.fullmatch(name):
        problems.append(f"malformed environment reference {match[0]!r}, expected ${{NAME}}")
    elif environ.get(name):
        return environ[name]
    elif has_default or name in environ:
        return default
    else:
        problems.append(f"environment variable {name} is not set")
    return match[0]


def _is_placeholder(value: str) -> bool:
    bare = value.strip()
    wrapped = len(bare) > 2 and bare.startswith("<") and bare.endswith(">")
    return bool(_CHANGE_ME.search(bare)) or bare in {"xxx", "XXX", "TODO", "..."} or wrapped


_REASONS = {
    "missing": "required key is missing",
    "string_type": "must be text (put it in quotes)",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    **dict.fromkeys(("float_type", "float_parsing"), "must be a number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    **dict.fromkeys(("list_type", "tuple_type"), "must be a list"),
    **dict.fromkeys(("model_type", "model_attributes_type"), "must be a mapping (key: value)"),
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    **dict.fromkeys(("too_short", "string_too_short"), "must not be empty"),
    "literal_error": "must be {expected}",
}


def _validate(tree: dict[str, Any], skip: set[Loc]) -> tuple[Config | None, list[Problem]]:
    """Validate the tree, leaving out problems at ``skip`` (already reported) but unknown keys."""
    try:
        return Config.model_validate(tree), []
    except ValidationError as error:
        errors = [(tuple(e["loc"]), e) for e in error.errors()]
    kept = [(loc, e) for loc, e in errors if loc not in skip or e["type"] == "extra_forbidden"]
    return None, [(loc, _reason(loc, e)) for loc, e in kept]


def _reason(loc: Loc, error: Any) -> str:
    kind: str = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if error["input"] is None and kind.endswith("_type"):
        return "has no value"
    if kind in _REASONS:
        return _REASONS[kind].format(**error.get("ctx", {}))
    return str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")


def _unknown_key(loc: Loc) -> str:
    section = _section_at(loc[:-1])
    known = list(section.model_fields) if section else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def _section_at(loc: Loc) -> type[BaseModel] | None:
    """The section model found at ``loc``, following fields and list items."""
    node: Any = Config
    for part in loc:
        if isinstance(part, str) and _is_section(node):
            field = node.model_fields.get(part)
            node = field.annotation if field else None
        else:
            node = next(iter(get_args(node)), None)
    return node if _is_section(node) else None


def _is_section(node: object) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _format_loc(loc: Loc) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return text.removeprefix(".") or "(top level)"
