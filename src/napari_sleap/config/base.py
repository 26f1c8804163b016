"""Typed dataclass configs: strict ``from_dict``, ``to_dict``, YAML and one-of choices.

Every config in this package is a plain ``@dataclass`` whose fields carry type
hints; this module turns nested dictionaries (from YAML or the GUI) into those
dataclasses and back, checking every key on the way so that a typo is reported
with its full key path (``model.backbone.unet.filters_rate``) and the keys or
values that would have been accepted. No TensorFlow here: configs are read by
the CLI and the GUI before any model is built.

A :class:`OneOf` dataclass is a choice: all its fields default to ``None`` and
exactly one must be set (``backbone: {unet: {...}}``, or the shorthand
``backbone: unet`` for that choice with its defaults).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from napari_sleap.io.atomic import write_text

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "OneOf",
    "field_docs",
    "from_dict",
    "load_yaml",
    "save_yaml",
    "to_dict",
    "update",
]


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key path and the fix.

    Attributes:
        key: dotted key path of the offending entry (``""`` for the top level).
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


@dataclasses.dataclass
class OneOf:
    """Base for a choice between alternatives: exactly one field is set.

    Subclasses declare every alternative as an optional field defaulting to
    ``None``; :func:`from_dict` and :meth:`check` enforce that one is chosen.
    """

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def options(cls) -> list[str]:
        """Names of the alternatives, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @property
    def choice(self) -> str:
        """Name of the chosen alternative."""
        return self._set_names()[0]

    @property
    def value(self) -> Any:
        """The chosen alternative's config."""
        return getattr(self, self.choice)

    def _set_names(self) -> list[str]:
        return [n for n in self.options() if getattr(self, n) is not None]

    def check(self, key: str = "") -> None:
        """Raise :class:`ConfigError` unless exactly one alternative is set."""
        chosen = self._set_names()
        if len(chosen) != 1:
            got = ", ".join(chosen) if chosen else "none"
            raise ConfigError(
                key,
                f"set exactly one of {', '.join(self.options())} (got {got})",
            )


# --------------------------------------------------------------------- types


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _join(key: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{key}[{name}]"
    return f"{key}.{name}" if key else name


def _convert(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against type hint ``tp`` and convert it (lists, nesting)."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed or isinstance(value, bool) != isinstance(
            allowed[0], bool
        ):
            raise ConfigError(
                key,
                f"{value!r} is not allowed; allowed values: "
                + ", ".join(repr(a) for a in allowed),
            )
        return value
    if origin in (Union, types.UnionType):
        members = get_args(tp)
        if value is None:
            if type(None) in members:
                return None
            raise ConfigError(key, "must be set (null is not allowed)")
        errors = []
        for member in members:
            if member is type(None):
                continue
            try:
                return _convert(member, value, key)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(
            key,
            f"{value!r} does not fit {_type_name(tp)}: "
            + "; ".join(str(e).removeprefix(f"{key}: ") for e in errors),
        )
    if value is None:
        raise ConfigError(
            key, f"must be set (null is not allowed; expected {_type_name(tp)})"
        )
    if _is_dataclass_type(tp):
        return from_dict(tp, value, key)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(
                key, f"expected a list, got {type(value).__name__} {value!r}"
            )
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(
                    key, f"expected {len(args)} items, got {len(value)}: {value!r}"
                )
            items = [
                _convert(a, v, _join(key, i))
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            ]
        else:
            item_tp = args[0] if args else Any
            items = [_convert(item_tp, v, _join(key, i)) for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(
                key, f"expected a mapping, got {type(value).__name__} {value!r}"
            )
        args = get_args(tp) or (Any, Any)
        return {
            _convert(args[0], k, _join(key, str(k))): _convert(
                args[1], v, _join(key, str(k))
            )
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(key, f"expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(key, f"expected a file path, got {value!r}")
        return Path(value)
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(
            key, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}"
        )
    return value


# ------------------------------------------------------------------ public


def from_dict(cls: type[T], data: Any, key: str = "") -> T:
    """Build dataclass ``cls`` from a nested mapping, checking every key and value.

    Args:
        cls: the config dataclass.
        data: a mapping (``None`` means all defaults); for :class:`OneOf`
            configs also a bare string naming the alternative to use with its
            defaults.
        key: key path of ``data`` inside the whole config, used in errors.

    Raises:
        ConfigError: naming the key path, what was wrong and what is allowed.
    """
    if data is None:
        data = {}
    if isinstance(data, cls):
        return data
    one_of = issubclass(cls, OneOf)
    if one_of and isinstance(data, str):
        if data not in cls.options():
            raise ConfigError(
                key,
                f"{data!r} is not a choice; allowed: {', '.join(cls.options())}",
            )
        data = {data: {}}
    if not isinstance(data, Mapping):
        raise ConfigError(
            key,
            f"expected a mapping of {cls.__name__} fields, got "
            f"{type(data).__name__} {data!r}",
        )
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        bad = _join(key, str(unknown[0]))
        raise ConfigError(
            bad,
            f"unknown key; allowed keys here: {', '.join(fields)}"
            + _suggest(str(unknown[0]), list(fields)),
        )
    kwargs = {}
    for name, value in data.items():
        sub = _join(key, name)
        if one_of:
            if value is None:
                continue
            tp = _strip_optional(hints[name])
            kwargs[name] = (
                from_dict(tp, value, sub)
                if _is_dataclass_type(tp)
                else _convert(tp, value, sub)
            )
        else:
            kwargs[name] = _convert(hints[name], value, sub)
    if one_of and len(kwargs) != 1:
        got = ", ".join(kwargs) if kwargs else "none"
        raise ConfigError(
            key, f"set exactly one of {', '.join(cls.options())} (got {got})"
        )
    try:
        return cls(**kwargs)
    except ConfigError as err:
        if key and not err.key.startswith(key):
            raise ConfigError(
                _join(key, err.key) if err.key else key, _msg(err)
            ) from err
        raise
    except (ValueError, TypeError) as err:
        raise ConfigError(key, str(err)) from err


def to_dict(cfg: Any) -> Any:
    """Plain YAML-ready data (dicts, lists, scalars) from a config dataclass.

    A :class:`OneOf` becomes ``{choice: {...}}`` with only the chosen entry.
    """
    if isinstance(cfg, OneOf):
        return {cfg.choice: to_dict(cfg.value)}
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {
            f.name: to_dict(getattr(cfg, f.name))
            for f in dataclasses.fields(cfg)
            if f.init
        }
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, Mapping):
        return {k: to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def update(cfg: T, overrides: Mapping[str, Any] | None, key: str = "") -> T:
    """A copy of ``cfg`` with ``overrides`` (a partial nested mapping) applied.

    Nested configs merge key by key; a :class:`OneOf` given a different
    alternative switches to it (starting from that alternative's defaults).
    Everything is checked as in :func:`from_dict`.
    """
    if not overrides:
        return from_dict(type(cfg), to_dict(cfg), key)
    merged = _merge(type(cfg), to_dict(cfg), overrides, key)
    return from_dict(type(cfg), merged, key)


def load_yaml(cls: type[T], path: str | Path, overrides: Mapping | None = None) -> T:
    """Read a config of type ``cls`` from a YAML file; errors name the file.

    Args:
        cls: the config dataclass.
        path: the YAML file.
        overrides: optional partial mapping applied on top (see :func:`update`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError("", f"{path}: not valid YAML ({err})") from err
    try:
        cfg = from_dict(cls, data)
        return update(cfg, overrides) if overrides else cfg
    except ConfigError as err:
        raise ConfigError("", f"{path}: {err}") from err


def save_yaml(cfg: Any, path: str | Path) -> Path:
    """Write ``cfg`` as YAML atomically (a file beside it, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)
    return write_text(path, text)


def field_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the ``Attributes:`` section of ``cls``'s docstring.

    Used for CLI/GUI help and by tests that check every field is documented.
    """
    doc = cls.__doc__ or ""
    match = re.search(r"^\s*Attributes:\s*$", doc, flags=re.M)
    if not match:
        return {}
    lines = doc[match.end() :].splitlines()
    docs: dict[str, str] = {}
    current = None
    indent = None
    for line in lines:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break
        m = re.match(r"\s*(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
        if width == indent and m:
            current = m.group(1)
            docs[current] = m.group(2).strip()
        elif current is not None:
            docs[current] = (docs[current] + " " + line.strip()).strip()
    return docs


# ----------------------------------------------------------------- helpers


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _msg(err: ConfigError) -> str:
    text = str(err)
    return text.removeprefix(f"{err.key}: ") if err.key else text


def _suggest(name: str, options: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _merge(cls: Any, base: Any, override: Any, key: str) -> Any:
    """Merge ``override`` into plain data ``base`` following the types of ``cls``."""
    cls = _strip_optional(cls)
    if not (_is_dataclass_type(cls) and isinstance(override, Mapping)):
        return override
    if not isinstance(base, Mapping):
        return override
    if issubclass(cls, OneOf):
        chosen = [k for k, v in override.items() if v is not None]
        if len(chosen) == 1 and chosen[0] not in base:
            return {chosen[0]: override[chosen[0]]}
    hints = _hints(cls)
    merged = dict(base)
    for name, value in override.items():
        if name in hints and name in merged:
            merged[name] = _merge(hints[name], merged[name], value, _join(key, name))
        else:
            merged[name] = value
    return merged
