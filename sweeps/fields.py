"""Typed fields: every key a spec section accepts is declared once, with its type and range.

A section of a spec (the top level, ``[execution]``, ``[cluster]``, ...) is a
:class:`Section`, a list of :class:`Field` objects. :meth:`Section.check` is the only way a
section's values are accepted, from TOML and from Python alike:

* a key the section does not declare is an error that lists the allowed keys, so a key added
  to a spec cannot skip its type check: it is accepted only once it is declared here;
* each value is checked by its field's type (:class:`Integer`, :class:`Number`,
  :class:`Text`, ...), which knows its allowed range and says it in the error. Booleans are
  never numbers (``true`` is not 1) and numpy scalars count as the Python scalar they hold.

Every error is a :class:`~pairsweep.sweeps.errors.SpecError` whose message starts with the
dotted field and ends with what is allowed, e.g.
``execution.max_in_flight: expected an integer >= 1, got True (a boolean)``.

>>> s = Section("execution", [Field("max_in_flight", Integer(min=1))])
>>> s.check({"max_in_flight": 4})
{'max_in_flight': 4}
>>> s.check({"max_in_flight": True})
Traceback (most recent call last):
...
pairsweep.sweeps.errors.SpecError: execution.max_in_flight: expected an integer >= 1, got True (a boolean)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .errors import SpecError
from .values import describe_type

__all__ = [
    "AnyOf",
    "Choice",
    "Field",
    "Instance",
    "Integer",
    "Memory",
    "Number",
    "PathText",
    "Section",
    "Table",
    "Text",
    "TextList",
    "join",
]


def join(where: str, key: str) -> str:
    """The dotted name of ``key`` inside ``where`` (``"" + "kernel"`` is ``"kernel"``)."""
    return f"{where}.{key}" if where else str(key)


class FieldType(Protocol):
    """What a field's type does: check a value (returning it in canonical form) and say
    in words what it allows (for errors and documentation)."""

    def allowed(self) -> str: ...

    def check(self, value: Any, where: str) -> Any: ...


def _fail(where: str, kind: FieldType, value: Any) -> SpecError:
    return SpecError(f"{where}: expected {kind.allowed()}, got {describe_type(value)}")


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo:g}, {hi:g}]"
    if lo is not None:
        return f" >= {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""


@dataclass(frozen=True, slots=True)
class Integer:
    """A Python or numpy integer (never a boolean, never a float such as ``4.0``) within
    ``[min, max]``; returned as a Python ``int``."""

    min: int | None = None
    max: int | None = None

    def allowed(self) -> str:
        return f"an integer{_bounds(self.min, self.max)}"

    def check(self, value: Any, where: str) -> int:
        if isinstance(value, np.integer):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(where, self, value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise _fail(where, self, value)
        return value


@dataclass(frozen=True, slots=True)
class Number:
    """A finite real number (int or float, numpy scalars included; never a boolean, NaN or
    infinity) within ``[min, max]``; ``what`` replaces "a number" in errors (e.g. to give
    the unit: ``"seconds"``)."""

    min: float | None = None
    max: float | None = None
    what: str = "a number"
    note: str = ""

    def allowed(self) -> str:
        return f"{self.what}{_bounds(self.min, self.max)}{f' ({self.note})' if self.note else ''}"

    def check(self, value: Any, where: str) -> float | int:
        if isinstance(value, np.integer | np.floating):
            value = value.item()
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise _fail(where, self, value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise _fail(where, self, value)
        return value


@dataclass(frozen=True, slots=True)
class Text:
    """A non-empty string (``what`` says what it names, for errors)."""

    what: str = "a non-empty string"

    def allowed(self) -> str:
        return self.what

    def check(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise _fail(where, self, value)
        return value


@dataclass(frozen=True, slots=True)
class PathText:
    """A filesystem path: a non-empty string or a :class:`os.PathLike`."""

    def allowed(self) -> str:
        return "a path (string or pathlib.Path)"

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, str | os.PathLike) or not str(value):
            raise _fail(where, self, value)
        return value


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def allowed(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def check(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise _fail(where, self, value)
        return value


@dataclass(frozen=True, slots=True)
class TextList:
    """A list of strings; a single string stands for a one-element list."""

    def allowed(self) -> str:
        return "a list of strings"

    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return value
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _fail(where, self, value)
        return value


#: Least memory :class:`Memory` takes: a Dask worker does not start in less, and a smaller
#: number is a missing unit ("512" is 512 bytes, and dask reads "" as 1 byte).
MIN_MEMORY = 2**20


@dataclass(frozen=True, slots=True)
class Memory:
    """An amount of memory as dask writes it (``"4GiB"``, ``"500MB"``), at least 1 MiB; with
    ``auto``, also ``"auto"`` and a whole number of bytes (0: no limit), as distributed's
    ``memory_limit`` takes them."""

    auto: bool = False

    def allowed(self) -> str:
        if self.auto:
            return 'an amount of memory such as "4GiB" (at least 1 MiB), "auto", or bytes (0: no limit)'
        return 'an amount of memory such as "4GiB" or "500MB" (at least 1 MiB)'

    def check(self, value: Any, where: str) -> Any:
        from dask.utils import parse_bytes

        if isinstance(value, np.integer):
            value = int(value)
        if self.auto and value == "auto":
            return value
        if self.auto and isinstance(value, int) and not isinstance(value, bool):
            if value == 0 or value >= MIN_MEMORY:
                return value
            raise _fail(where, self, value)
        if not isinstance(value, str):
            raise _fail(where, self, value)
        try:
            if parse_bytes(value) < MIN_MEMORY:
                raise ValueError
        except (ValueError, TypeError):
            raise SpecError(f"{where}: {value!r} is not {self.allowed()}") from None
        return value


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A value that passes any one of ``types`` (tried in order); ``what`` says it in words."""

    types: tuple[FieldType, ...]
    what: str

    def allowed(self) -> str:
        return self.what

    def check(self, value: Any, where: str) -> Any:
        for kind in self.types:
            try:
                return kind.check(value, where)
            except SpecError:
                continue
        raise _fail(where, self, value)


@dataclass(frozen=True, slots=True)
class Instance:
    """A Python object of one class (fields only the Python API has, e.g. a ClusterSpec);
    ``example`` shows how to make one."""

    cls: type
    example: str

    def allowed(self) -> str:
        return f"a {self.cls.__name__} (e.g. {self.example})"

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, self.cls):
            raise SpecError(f"{where}: expected {self.allowed()}, got {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class Table:
    """A table (TOML) or mapping (Python) with string keys. ``values`` checks each entry
    (named ``where.key``); ``nonempty`` asks for at least one entry; ``what`` (instead of
    the generated words) and ``example`` are shown in the error."""

    values: FieldType | None = None
    nonempty: bool = False
    example: str = ""
    what: str = ""

    def allowed(self) -> str:
        if self.what:
            return self.what + (f", e.g. {self.example}" if self.example else "")
        what = "a table" + (" with at least one entry" if self.nonempty else "")
        if self.values is not None:
            what += f" of {self.values.allowed()}"
        return what + (f", e.g. {self.example}" if self.example else "")

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, Mapping) or (self.nonempty and not value):
            raise _fail(where, self, value)
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(f"{where}: keys must be strings, got {key!r}")
            out[key] = item if self.values is None else self.values.check(item, join(where, key))
        return out


@dataclass(frozen=True, slots=True)
class Field:
    """One key of a section: its name, type, whether it must be given, and what it means."""

    name: str
    type: FieldType
    required: bool = False
    doc: str = ""


class Section:
    """The declared keys of one section of a spec (``where`` is its dotted name, ``""`` for
    the top level)."""

    def __init__(self, where: str, fields: Sequence[Field]) -> None:
        self.where = where
        self.fields = {f.name: f for f in fields}

    @property
    def names(self) -> list[str]:
        return list(self.fields)

    def unknown(self, keys: Sequence[Any]) -> None:
        """:class:`SpecError` naming the first key (in the order given) not declared here."""
        for key in keys:
            if key not in self.fields:
                raise SpecError(f"{join(self.where, str(key))}: unknown key; allowed: {', '.join(self.fields)}")

    def check(self, values: Mapping[Any, Any]) -> dict[str, Any]:
        """``values`` checked key by key, in canonical form.

        A value of ``None`` means "not given" (the Python API's default for optional
        fields); a required field that is missing, or ``None``, is an error.
        """
        self.unknown(list(values))
        out: dict[str, Any] = {}
        for name, f in self.fields.items():
            where = join(self.where, name)
            if name not in values:
                if f.required:
                    raise SpecError(f"{where}: missing (required); expected {f.type.allowed()}")
                continue
            value = values[name]
            if value is None and not f.required:
                continue
            out[name] = f.type.check(value, where)
        return out
