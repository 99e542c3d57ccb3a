"""Settings declared once, beside their fields: environment variable, flag, meaning.

A field of a settings dataclass (``Settings``, ``StoreConfig``, ``FetchConfig``) that a user
may set carries ``metadata=setting(env=..., flag=..., doc=...)``. Everything else comes from
those declarations: reading the environment (``env_values``), the ``serve`` flags
(``add_flags`` / ``flag_values``), the table in the README and in ``serve --help``
(``sidecar.settings_doc``). A value that does not parse is a ``SettingError`` whose message
is the one line ``serve`` prints before exiting with status 2.

Values: booleans ``1/true/yes/on`` and ``0/false/no/off``; integers and decimals as
written (``_`` allowed); paths (``~`` expanded); lists separated by commas (paths by
``os.pathsep``). An empty variable counts as unset.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingError(ValueError):
    """A setting's value is invalid; the message is one line naming where it came from."""


@dataclass(frozen=True)
class Setting:
    doc: str  # one line: what it does
    env: str | None = None  # the environment variable, if any
    flag: str | None = None  # the ``serve`` option, if any
    default_doc: str | None = None  # the default as people should read it
    parse: Callable[[str], Any] | None = None  # one value (one element of a list) from text
    check: Callable[[Any], str | None] | None = None  # the whole value: None, or what is wrong
    flag_value: Any = True  # what a boolean flag sets
    metavar: str | None = None
    read: bool = True  # False: documented here, read by its own code (the secret)


def setting(doc: str, **kw: Any) -> dict[str, Setting]:
    """``field(metadata=setting("what it does", env="MEDIA_SIDECAR_X", flag="--x"))``."""
    return {"setting": Setting(doc, **kw)}


@dataclass(frozen=True)
class Declared:
    owner: type
    name: str
    kind: Any  # the resolved type annotation
    spec: Setting
    default: Any  # dataclasses.MISSING when the field has none


def declared(cls: type) -> Iterator[Declared]:
    """The fields of ``cls`` that carry a ``setting(...)`` declaration, in order."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("setting")
        if not isinstance(spec, Setting):
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        yield Declared(cls, f.name, hints[f.name], spec, default)


# -- parsing ---------------------------------------------------------------------------------

def _strip_optional(kind: Any) -> tuple[Any, bool]:
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return kind, False


def element_type(kind: Any) -> tuple[Any, bool]:
    """(the type of one value, whether the field is a list of them)."""
    base, _ = _strip_optional(kind)
    if typing.get_origin(base) is tuple:
        return typing.get_args(base)[0], True
    return base, False


def parse_one(kind: Any, text: str, spec: Setting) -> Any:
    """One value of type ``kind`` from ``text``; ``ValueError`` with a short reason."""
    if spec.parse is not None:
        return spec.parse(text)
    raw = text.strip()
    if kind is bool:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("expected 1/true/yes/on or 0/false/no/off")
    if kind is int:
        try:
            return int(raw.replace("_", ""), 10)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if kind is float:
        try:
            value = float(raw.replace("_", ""))
        except ValueError:
            raise ValueError("expected a number") from None
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if kind is Path:
        if not raw:
            raise ValueError("expected a path")
        return Path(raw).expanduser()
    if kind is str:
        return raw
    raise TypeError(f"no parser for settings of type {kind!r}")


def parse_text(item: Declared, text: str) -> Any:
    """The field's value from one environment string (lists split)."""
    kind, many = element_type(item.kind)
    if not many:
        return parse_one(kind, text, item.spec)
    sep = os.pathsep if kind is Path else ","
    return tuple(parse_one(kind, part, item.spec) for part in text.split(sep) if part.strip())


def _checked(item: Declared, value: Any, where: str, shown: str) -> Any:
    if item.spec.check is not None:
        problem = item.spec.check(value)
        if problem:
            raise SettingError(f"{where}={shown}: {problem}")
    return value


def env_values(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    """The fields of ``cls`` set by the environment (unset and empty variables skipped)."""
    out: dict[str, Any] = {}
    for item in declared(cls):
        name = item.spec.env
        if name is None or not item.spec.read:
            continue
        text = env.get(name, "")
        if not text.strip():
            continue
        try:
            value = parse_text(item, text)
        except ValueError as exc:
            raise SettingError(f"{name}={text!r}: {exc}") from None
        out[item.name] = _checked(item, value, name, repr(text))
    return out


def env_name(cls: type, name: str) -> str:
    """The environment variable of the field ``name`` of ``cls`` (for launchers and tests)."""
    for item in declared(cls):
        if item.name == name and item.spec.env is not None:
            return item.spec.env
    raise KeyError(f"{cls.__name__}.{name} has no environment variable")


def from_env(cls: type, env: Mapping[str, str], **overrides: Any) -> Any:
    """An instance of ``cls``: defaults, then the environment, then ``overrides``."""
    return cls(**{**env_values(cls, env), **overrides})


# -- flags -----------------------------------------------------------------------------------

def _dest(item: Declared) -> str:
    return f"setting__{item.owner.__name__}__{item.name}"


def add_flags(parser: argparse.ArgumentParser, *classes: type) -> None:
    """One option per declared flag of ``classes`` (values parsed later, by ``flag_values``,
    so that a bad value is reported like a bad variable)."""
    for cls in classes:
        for item in declared(cls):
            spec = item.spec
            if spec.flag is None or not spec.read:
                continue
            kind, many = element_type(item.kind)
            help_text = spec.doc + (f" [{spec.env}]" if spec.env else "")
            if kind is bool and not many:
                parser.add_argument(spec.flag, dest=_dest(item), action="store_const",
                                    const=spec.flag_value, default=None, help=help_text)
            elif many:
                parser.add_argument(spec.flag, dest=_dest(item), action="append", default=None,
                                    metavar=spec.metavar, help=help_text + " (repeatable)")
            else:
                parser.add_argument(spec.flag, dest=_dest(item), default=None,
                                    metavar=spec.metavar, help=help_text)


def flag_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``cls`` given on the command line."""
    out: dict[str, Any] = {}
    for item in declared(cls):
        if item.spec.flag is None or not item.spec.read:
            continue
        given = getattr(args, _dest(item), None)
        if given is None:
            continue
        kind, many = element_type(item.kind)
        texts = given if many else [given]
        parsed: list[Any] = []
        for text in texts:
            try:
                parsed.append(text if kind is bool else parse_one(kind, text, item.spec))
            except ValueError as exc:
                raise SettingError(f"{item.spec.flag} {text!r}: {exc}") from None
        value = tuple(parsed) if many else parsed[0]
        out[item.name] = _checked(item, value, item.spec.flag, repr(given))
    return out


# -- checks shared by the declarations --------------------------------------------------------

def at_least(low: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= low else f"must be at least {low:g}"
    return check
