"""Typed reads of decoded JSON. A field of the wrong type or a missing required field raises
``PayloadError``, which clients turn into ``MalformedResponseError`` at their boundary, so
mapping code never leaks a KeyError or TypeError."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import orjson

from gateway.errors import MalformedResponseError


class PayloadError(ValueError):
    """The payload does not have the documented shape."""


JsonObject = Mapping[str, Any]


@contextmanager
def malformed_payload(platform: str, account_id: str | None, label: str) -> Iterator[None]:
    """Turn a PayloadError raised inside into ``MalformedResponseError``, chained; ``label``
    names the platform in the message ("Meta sent an unexpected body: ...")."""
    try:
        yield
    except PayloadError as exc:
        raise MalformedResponseError(
            f"{label} sent an unexpected body: {exc}", platform=platform, account_id=account_id
        ) from exc


def as_object(value: Any, what: str) -> JsonObject:
    """``value`` as a JSON object, or PayloadError."""
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    """``value`` as a JSON array, or PayloadError."""
    if not isinstance(value, list):
        raise PayloadError(f"{what}: expected an array, got {type(value).__name__}")
    return value


def as_objects(value: Any, what: str, item_what: str) -> list[JsonObject]:
    """``value`` as a JSON array of objects, or the PayloadError of ``as_list(value, what)``
    or ``as_object(item, item_what)``. A decoded array of objects is returned as it is,
    checked in one pass (no call per item: pages hold hundreds)."""
    items = as_list(value, what)
    # A plain loop: all(...) over a generator resumes a frame for every item.
    for item in items:
        if type(item) is not dict:
            return [as_object(item, item_what) for item in items]
    return items


def req_str(obj: JsonObject, key: str) -> str:
    """A required string (JSON numbers are accepted as IDs and turned into strings)."""
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"{key}: expected a string, got {type(value).__name__}")


def opt_str(obj: JsonObject, key: str) -> str | None:
    """An optional string; null and absent give None."""
    if obj.get(key) is None:
        return None
    return req_str(obj, key)


def opt_int(obj: JsonObject, key: str) -> int | None:
    """An optional integer; numeric strings are accepted."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{key}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError as exc:
            raise PayloadError(f"{key}: expected an integer, got {value!r}") from exc
    raise PayloadError(f"{key}: expected an integer, got {type(value).__name__}")


def opt_number(obj: JsonObject, key: str) -> float | None:
    """An optional JSON number (int or float)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{key}: expected a number, got {type(value).__name__}")
    return float(value)


def str_list(obj: JsonObject, key: str) -> list[str]:
    """An optional array of strings (or integers, stringified); null and absent give []."""
    value = obj.get(key)
    if value is None:
        return []
    items = as_list(value, key)
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(str(item))
        else:
            raise PayloadError(f"{key}: expected strings, got {type(item).__name__}")
    return out


V = TypeVar("V")


class TextMemo(Generic[V]):
    """Results of a pure function of a payload, by a few of its fields, kept while all of those
    fields are text or absent (a bounded number of keys; past ``limit`` they are computed).
    A field of another type (an array, an object) is passed to the function every time, so
    its error is raised as before."""

    def __init__(self, compute: Callable[[JsonObject], V], limit: int = 1024) -> None:
        self._compute = compute
        self._found: dict[tuple[object, ...], V] = {}
        self._limit = limit

    def get(self, key: tuple[object, ...], obj: JsonObject) -> V:
        """``compute(obj)``, where ``key`` is the fields of ``obj`` it depends on."""
        try:
            found = self._found.get(key)
        except TypeError:  # an array or object where text belongs
            return self._compute(obj)
        if found is not None:
            return found
        found = self._compute(obj)
        if len(self._found) < self._limit and all(v is None or type(v) is str for v in key):
            self._found[key] = found
        return found


class JsonMemo(Generic[V]):
    """Results of a pure function of a payload, by the one JSON value of it that the function
    reads, as orjson writes that value (compared whole: another value writes other bytes).

    For nested values that rows share (Meta's ``geo_locations``), where writing the value
    costs a fraction of reading it. A value written with ``null`` anywhere is not kept:
    orjson writes NaN and the infinities as null too, and a function handed those (no JSON
    decoder gives them, but mapping takes any value) may read them differently. Nor is a
    value orjson cannot write; past ``limit`` keys, results are computed without being kept.
    """

    def __init__(self, compute: Callable[[JsonObject], V], limit: int = 1024) -> None:
        self._compute = compute
        self._found: dict[bytes, V] = {}
        self._limit = limit

    def get(self, value: Any, obj: JsonObject) -> V:
        """``compute(obj)``, where ``value`` is the part of ``obj`` it depends on."""
        try:
            key = orjson.dumps(value)
        except orjson.JSONEncodeError:
            return self._compute(obj)
        found = self._found.get(key)
        if found is not None:
            return found
        found = self._compute(obj)
        if len(self._found) < self._limit and b"null" not in key:
            self._found[key] = found
        return found
