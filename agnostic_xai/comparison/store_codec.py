"""How the result store encodes what it holds: configuration fingerprints, cell contents, checksums.

Nothing here is pickled: arrays travel as ``.npz`` bytes (loaded with ``allow_pickle=False``)
and everything else as JSON. Every stored row carries a SHA-256 of its columns
(:func:`row_digest`), computed from the values exactly as SQLite gives them back, so that one
flipped bit anywhere in a row (a score, a cost, a parameter, the configuration fingerprint)
is detected on read.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..attribution import Attribution
from ..exceptions import InvalidInputError

__all__ = [
    "array_digest",
    "attribution_bytes",
    "canonical",
    "decode_cell",
    "fingerprint",
    "pack",
    "real",
    "row_digest",
    "unpack",
]


# ---------------------------------------------------------------------------------- identity
def array_digest(array: Any) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data that is the same for the same configuration in any process.

    Arrays become their digest, estimators their class and parameters, functions their
    qualified name; other objects their type and ``repr`` with memory addresses removed.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, np.ndarray):
        return {"array": array_digest(value), "shape": list(value.shape), "dtype": value.dtype.str}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if hasattr(value, "get_params"):
        return {"class": kind, "params": canonical(value.get_params())}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": f"{getattr(value, '__module__', '')}.{value.__qualname__}"}
    return {"object": kind, "repr": _ADDRESS.sub("", repr(value))}


def fingerprint(document: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON text of ``document`` and its SHA-256."""
    text = json.dumps(canonical(document), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text, hashlib.sha256(text.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------------- packing
def pack(mapping: Mapping[str, Any]) -> bytes:
    """Arrays and JSON-able values as ``.npz`` bytes; other values are recorded by ``repr``."""
    arrays: dict[str, np.ndarray] = {}

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.dtype != object:
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Mapping):
            return {"__map__": [[str(k), encode(v)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        return {"__repr__": _ADDRESS.sub("", repr(value))}

    header = encode(dict(mapping))
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack(blob: bytes) -> dict[str, Any]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        loaded = {key: archive[key] for key in archive.files}

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if "__array__" in value:
                return loaded[value["__array__"]]
            if "__map__" in value:
                return {k: decode(v) for k, v in value["__map__"]}
            if "__repr__" in value:
                return value["__repr__"]
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(json.loads(loaded.pop("header").tobytes().decode("utf-8")))


def attribution_bytes(attribution: Attribution) -> bytes:
    buffer = io.BytesIO()
    try:
        attribution.save(buffer)
    except InvalidInputError:
        # Extras that cannot be saved (objects) are dropped from the stored copy only.
        kept = {k: v for k, v in attribution.extras.items() if _saveable(v)}
        buffer = io.BytesIO()
        replace(attribution, extras=kept).save(buffer)
    return buffer.getvalue()


def _saveable(value: Any) -> bool:
    from ..attribution import _jsonable

    if isinstance(value, np.ndarray):
        return value.dtype != object
    try:
        _jsonable(value, "extra")
    except InvalidInputError:
        return False
    return True


# ---------------------------------------------------------------------------------- checksums
def real(value: Any) -> float | None:
    """A float as the store keeps it: NaN as NULL (SQLite turns NaN into NULL anyway) and
    -0.0 as 0.0 (SQLite may store an integral REAL as an integer and lose the sign)."""
    value = float(value) + 0.0
    return None if math.isnan(value) else value


def row_digest(kinds: str, values: Sequence[Any]) -> str | None:
    """SHA-256 of a row's values, each of the SQLite kind given by one letter of ``kinds``.

    ``t`` text, ``i`` integer, ``r`` real, ``b`` blob; any value may be None. Each value is
    encoded with its kind and length, so that no two different rows share an encoding. A value
    of another type than its column's kind (text planted in a REAL column, say) gives None:
    the row cannot be what the store wrote.
    """
    digest = hashlib.sha256(b"agnostic-xai store row v2")
    for kind, value in zip(kinds, values, strict=True):
        if value is None:
            digest.update(b"N")
        elif kind == "t" and isinstance(value, str):
            encoded = value.encode("utf-8", "surrogatepass")
            digest.update(b"t%d:" % len(encoded) + encoded)
        elif kind == "i" and isinstance(value, int) and not isinstance(value, bool):
            digest.update(b"i%d;" % value)
        elif kind == "r" and isinstance(value, float):
            digest.update(b"r" + struct.pack("<d", value + 0.0))
        elif kind == "b" and isinstance(value, bytes):
            digest.update(b"b%d:" % len(value) + value)
        else:
            return None
    return digest.hexdigest()


def decode_cell(line: Sequence[Any], n_rows: int) -> Any:
    """A stored metric cell (its columns in the store's order) as a MetricResult, or None when
    its contents cannot be what the store wrote: scores of another length than the
    attribution's rows, missing fields, or bytes that do not decode.

    Called only on rows whose checksum holds, so None means a row forged with a valid
    checksum; it is then recomputed like any damaged row, never raised.
    """
    from ..metrics import MetricResult

    _, metric, _, family, higher, scores, value, seconds, model_rows, detail = line[:10]
    if scores is None or family is None or higher not in (0, 1) or len(scores) != 8 * n_rows or detail is None:
        return None
    try:
        unpacked = unpack(detail)
        params, extras = unpacked.get("params", {}), unpacked.get("extras", {})
    except Exception:  # noqa: BLE001 - any failure to decode stored bytes means the row is damaged
        return None
    if not isinstance(params, dict) or not isinstance(extras, dict):
        return None
    return MetricResult(
        name=metric,
        scores=np.frombuffer(scores, dtype=np.float64).copy(),
        value=np.nan if value is None else value,
        family=family,
        higher_is_better=bool(higher),
        params=params,
        seconds=np.nan if seconds is None else seconds,
        model_rows=0 if model_rows is None else model_rows,
        extras=extras,
    )
