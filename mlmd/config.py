"""Strict configuration: TOML files and mappings → frozen dataclasses.

Every config in mlmd (reference settings, training, MD, sites) is a frozen dataclass and is
parsed by :func:`from_mapping`, which rejects unknown keys (naming the valid ones), missing
required keys and values of the wrong type, always naming the file and the dotted key.
Nested dataclasses, ``list``/``tuple`` of a type, ``dict``, ``X | None`` and ``Literal``
choices are understood. Floats must be finite (TOML's ``nan``/``inf`` are refused).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from mlmd.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing, unreadable or non-TOML file (or a directory) is a
    :class:`ConfigError` naming the file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            "is a directory, not a TOML file", file=str(path), fix="give the config file's path"
        )
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path), fix="check the path") from None
    except PermissionError:
        raise ConfigError("not readable (permission denied)", file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML ({exc})", file=str(path), fix="fix the syntax") from None


def from_toml(cls: type[T], path: str | Path, section: str | None = None) -> T:
    """Parse ``path`` (optionally one top-level ``section`` of it) into dataclass ``cls``."""
    data = load_toml(path)
    if section is not None:
        if section not in data:
            raise ConfigError(
                "missing section", file=str(path), field=section, fix=f"add a [{section}] table"
            )
        data = data[section]
    return from_mapping(cls, data, source=str(path), prefix=section or "")


def from_mapping(cls: type[T], data: Any, *, source: str = "<config>", prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, strictly.

    Raises:
        ConfigError: on an unknown key (with a did-you-mean), a missing required key, or a
            value whose type does not match the field's annotation.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a table, got {type(data).__name__}", file=source, field=prefix or None
        )
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            "unknown key",
            file=source,
            field=_join(prefix, key),
            fix=f"{hint}valid keys: {', '.join(sorted(fields))}",
        )
    kwargs = {}
    for name, field in fields.items():
        key = _join(prefix, name)
        if name not in data:
            no_default = field.default is dataclasses.MISSING
            if no_default and field.default_factory is dataclasses.MISSING:
                raise ConfigError("missing required key", file=source, field=key, fix="add it")
            continue
        kwargs[name] = _coerce(hints[name], data[name], source, key)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # validation in __post_init__
        raise ConfigError(str(exc), file=source, field=prefix or None) from None


def to_mapping(obj: Any) -> Any:
    """Turn a config dataclass back into plain dicts/lists (for JSON/TOML provenance)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    """``value`` checked (and converted) against annotation ``tp``; ConfigError if it fails."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(get_args(tp), value, source, key)
    if origin is Literal:
        return _coerce_literal(get_args(tp), value, source, key)
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, source=source, prefix=key)
    if origin in (list, tuple):
        return _coerce_sequence(origin, get_args(tp), value, source, key)
    if origin is dict:
        return _coerce_table(get_args(tp), value, source, key)
    check = _SCALARS.get(tp)  # ``Any`` (and any other annotation) has none: taken as it is
    return value if check is None else check(value, source, key)


def _coerce_union(args: tuple, value: Any, source: str, key: str) -> Any:
    """The first member type of ``X | Y | None`` that accepts ``value`` (else its error)."""
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return _coerce(arg, value, source, key)
        except ConfigError as exc:
            errors.append(exc)
    raise errors[0]


def _coerce_literal(choices: tuple, value: Any, source: str, key: str) -> Any:
    if value not in choices:
        raise ConfigError(
            f"invalid value {value!r}",
            file=source,
            field=key,
            fix=f"choose one of {', '.join(map(repr, choices))}",
        )
    return value


def _coerce_sequence(origin: type, args: tuple, value: Any, source: str, key: str) -> Any:
    """``list[X]``, ``tuple[X, ...]`` or a fixed ``tuple[X, Y]``."""
    if not isinstance(value, (list, tuple)):
        raise _type_error(source, key, "a list", value)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ConfigError(f"expected {len(args)} values", file=source, field=key)
        return tuple(
            _coerce(a, v, source, f"{key}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    item = args[0] if args else Any
    items = [_coerce(item, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _coerce_table(args: tuple, value: Any, source: str, key: str) -> dict:
    """``dict[str, X]``: every value checked against ``X``."""
    if not isinstance(value, dict):
        raise _type_error(source, key, "a table", value)
    _, vt = args or (str, Any)
    return {k: _coerce(vt, v, source, f"{key}.{k}") for k, v in value.items()}


def _float(value: Any, source: str, key: str) -> float:
    """A finite number: TOML's ``nan``/``inf`` are refused (they make runs silently wrong)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(source, key, "a number", value)
    if not math.isfinite(value):
        raise ConfigError(
            f"{value!r} is not a finite number", file=source, field=key, fix="give a finite value"
        )
    return float(value)


def _int(value: Any, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(source, key, "an integer", value)
    return value


def _bool(value: Any, source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(source, key, "true or false", value)
    return value


def _str(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str):
        raise _type_error(source, key, "a string", value)
    return value


def _path(value: Any, source: str, key: str) -> Path:
    if not isinstance(value, (str, Path)):
        raise _type_error(source, key, "a path string", value)
    return Path(value)


#: Checks of the scalar annotations, by type.
_SCALARS: dict[Any, Any] = {float: _float, int: _int, bool: _bool, str: _str, Path: _path}


def _type_error(source: str, key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(
        f"expected {expected}, got {value!r} ({type(value).__name__})", file=source, field=key
    )
