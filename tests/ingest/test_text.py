"""Half-width conversion, empty markers and the result type."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.ingest.text import (
    EMPTY_MARKERS,
    Normalized,
    clean,
    clean_series,
    halfwidth_series,
    quote,
    to_halfwidth,
)
from tests.ingest.normalizer_checks import EMPTY_INPUTS

FULLWIDTH_ASCII = [chr(cp) for cp in range(0xFF01, 0xFF5F)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("１２３，４５６．７８", "123,456.78"),
        ("\u3000ａｂｃ\u3000", "abc"),
        ("ｍａｉｌ＠ｘ．ｃｎ", "mail@x.cn"),
        ("（１２）", "(12)"),
        ("中文　名字", "中文 名字"),
        ("￥12", "￥12"),  # U+FFE5 lies outside the full-width ASCII block
        ("  plain  ", "plain"),
        ("", ""),
    ],
)
def test_to_halfwidth(text: str, expected: str) -> None:
    assert to_halfwidth(text) == expected
    assert halfwidth_series(pl.Series([text])).to_list() == [expected]


@given(st.sampled_from(FULLWIDTH_ASCII))
def test_every_fullwidth_ascii_char_maps_to_ascii(char: str) -> None:
    assert to_halfwidth(char) == chr(ord(char) - 0xFEE0)
    assert to_halfwidth("a" + char + "b") == "a" + chr(ord(char) - 0xFEE0) + "b"


def test_ideographic_space_becomes_a_space() -> None:
    assert to_halfwidth("a\u3000b") == "a b"


@given(st.text())
def test_to_halfwidth_is_idempotent(text: str) -> None:
    once = to_halfwidth(text)
    assert to_halfwidth(once) == once
    assert not any(0xFF01 <= ord(c) <= 0xFF5E for c in once)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), max_size=20))
def test_halfwidth_series_agrees_with_scalar(texts: list[str | None]) -> None:
    expected = [None if t is None else to_halfwidth(t) for t in texts]
    assert halfwidth_series(pl.Series(texts, dtype=pl.Utf8)).to_list() == expected


@pytest.mark.parametrize("value", EMPTY_INPUTS)
def test_empty_markers_are_empty(value: str | None) -> None:
    assert clean(value) is None
    assert clean_series(pl.Series([value], dtype=pl.Utf8)).to_list() == [None]


def test_empty_markers_are_lowercase() -> None:
    assert all(marker == marker.lower() for marker in EMPTY_MARKERS)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), st.sampled_from(EMPTY_INPUTS)), max_size=20))
def test_clean_series_agrees_with_clean(texts: list[str | None]) -> None:
    expected = [clean(t) for t in texts]
    assert clean_series(pl.Series(texts, dtype=pl.Utf8)).to_list() == expected


def test_quote_shortens_long_inputs() -> None:
    assert quote("abc") == "'abc'"
    assert quote("x" * 100) == "'" + "x" * 60 + "…'"


def test_error_count() -> None:
    result = Normalized(
        values=pl.Series([1, None, None]), errors=pl.Series([None, "bad: 'x'", None])
    )
    assert result.error_count == 1
