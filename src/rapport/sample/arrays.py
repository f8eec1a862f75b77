"""Vectorized helpers: sampling, grouped operations and Arrow column builders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_TS = np.iinfo(np.int64).min  # sentinel of a missing UTC-seconds value
TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(14, 2)


def choice(rng: np.random.Generator, probs: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices drawn with probabilities ``probs`` (normalized here)."""
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def row_choice(rng: np.random.Generator, cdf_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per element of ``rows`` from per-row cumulative probabilities."""
    u = rng.random(len(rows))[:, None]
    return np.minimum((u > cdf_rows[rows]).sum(axis=1), cdf_rows.shape[1] - 1)


def ordinal(latent: np.ndarray, probs: Sequence[float], low: int) -> np.ndarray:
    """Cut a standard-normal ``latent`` into points ``low, low+1, ...`` with marginal
    probabilities ``probs``."""
    from statistics import NormalDist

    cum = np.cumsum(probs)[:-1] / np.sum(probs)
    cuts = np.array([NormalDist().inv_cdf(float(c)) for c in cum])
    return low + np.searchsorted(cuts, latent, side="right")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray | float) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def starts(counts: np.ndarray) -> np.ndarray:
    """Offsets of consecutive groups of the given sizes."""
    out = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """0-based position of each element inside its run of equal (sorted) group ids."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = group[1:] != group[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return np.arange(n) - first


def group_cumsum_before(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of the earlier values of the same (sorted) group, excluding the element."""
    total = np.cumsum(values)
    n = len(group)
    if n == 0:
        return total
    new = np.ones(n, dtype=bool)
    new[1:] = group[1:] != group[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    base = total[first] - values[first]
    return total - values - base


def sort_by(*keys: np.ndarray) -> np.ndarray:
    """Permutation sorting by the first key, then the next (stable)."""
    return np.lexsort(tuple(reversed(keys)))


def uniform_points(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform points in ``[lo[i], hi[i])``; returns (owner index, points)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    pts = lo[owner] + rng.random(len(owner)) * (hi[owner] - lo[owner])
    return owner, pts


# --- Arrow column builders -----------------------------------------------------------------


def strings(values: np.ndarray | Sequence[str | None] | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(values, type=pa.string())


def pool(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def take(pool_array: pa.Array, index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Strings of ``pool_array`` at ``index``; null where ``mask`` is true."""
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=mask)
    return pool_array.take(idx)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and scalars."""
    arrays = [p if isinstance(p, str) else strings(p) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers such as ``SO0000000123``."""
    digits = pc.utf8_lpad(
        pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def int_text(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def timestamps(seconds: np.ndarray) -> pa.Array:
    """UTC epoch seconds (``NULL_TS`` = null) to ``timestamp[us, UTC]``."""
    s = np.asarray(seconds, dtype=np.int64)
    mask = s == NULL_TS
    us = np.where(mask, 0, s) * 1_000_000
    return pa.array(us, type=pa.int64(), mask=mask).cast(TIMESTAMP)


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Integer cents to ``decimal128(14, 2)`` without going through floats."""
    c = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(c), 2), dtype=np.int64)
    words[:, 0] = c
    words[:, 1] = -(c < 0).astype(np.int64)
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.array(~mask).buffers()[1]
        null_count = int(mask.sum())
    return pa.Array.from_buffers(
        MONEY, len(c), [validity, pa.py_buffer(words.tobytes())], null_count=null_count
    )


def floats(values: np.ndarray) -> pa.Array:
    """float64 with NaN as null."""
    v = np.asarray(values, dtype=np.float64)
    return pa.array(v, mask=np.isnan(v))


def ints(values: np.ndarray, type_: pa.DataType = pa.int64()) -> pa.Array:
    """Integers; NaN (of a float input) becomes null."""
    v = np.asarray(values)
    if v.dtype.kind == "f":
        mask = np.isnan(v)
        return pa.array(np.where(mask, 0, v).astype(np.int64), mask=mask).cast(type_)
    return pa.array(v.astype(np.int64)).cast(type_)


def dates(days_since_epoch: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    d = np.asarray(days_since_epoch, dtype=np.int32)
    return pa.array(d, type=pa.int32(), mask=mask).cast(pa.date32())


def bools(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool))
