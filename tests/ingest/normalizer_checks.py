"""Helpers shared by the normalizer tests: scalar and vectorized forms must agree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from hypothesis import strategies as st

from rapport.ingest.text import Normalized

FULLWIDTH = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)}


def fullwidth(text: str) -> str:
    """The full-width spelling of the ASCII characters of ``text``."""
    return text.translate(FULLWIDTH)


def outcome(scalar: Callable[[Any], Any], value: Any) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, reason)`` of a scalar normalizer."""
    try:
        return scalar(value), None
    except ValueError as exc:
        return None, str(exc)


def assert_agree(
    scalar: Callable[[Any], Any],
    vector: Callable[[pl.Series], Normalized],
    inputs: Sequence[Any],
    dtype: pl.DataType | type[pl.DataType] = pl.Utf8,
) -> Normalized:
    """Both forms give the same value and the same error for every input.

    For inputs that are not text only the reason of an error is compared: the two forms may
    spell a quoted number differently (``1e+20`` / ``1e20``).
    """
    result = vector(pl.Series("col", list(inputs), dtype=dtype))
    assert len(result.values) == len(inputs) == len(result.errors)
    assert result.values.name == result.errors.name == "col"
    assert result.errors.dtype == pl.Utf8
    for value, got, error in zip(
        inputs, result.values.to_list(), result.errors.to_list(), strict=True
    ):
        expected, expected_error = outcome(scalar, value)
        if not isinstance(value, str):
            error, expected_error = _reason(error), _reason(expected_error)
        assert (got, error) == (expected, expected_error), repr(value)
    return result


def _reason(error: str | None) -> str | None:
    return None if error is None else error.split(": '")[0]


def padded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Texts with optional white space around them and an optional full-width spelling."""
    spaces = st.sampled_from(["", " ", "  ", "\t", "\u3000", "\xa0"])
    return st.builds(
        lambda before, text, wide, after: before + (fullwidth(text) if wide else text) + after,
        spaces,
        texts,
        st.booleans(),
        spaces,
    )


#: Empty spellings: no value and no error.
EMPTY_INPUTS = [None, "", " ", "\u3000", "-", "—", "N/A", "n/a", "null", "NULL", "无", "nan"]
