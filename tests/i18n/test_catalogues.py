"""Locale completeness: every catalogue entry has both languages, every key the code asks for
exists, and placeholders agree between the languages.

The checks walk the catalogues and the source rather than listing keys by hand, so a new
enumeration member, a new ``t("…")`` call or a new label is covered the day it is written.
"""

from __future__ import annotations

import ast
import re
import string
from enum import StrEnum
from pathlib import Path

import pytest

import rapport
from rapport.analytics.churn_features import CHURN_FEATURES
from rapport.config import LIFECYCLE_PHASES, load_rules
from rapport.i18n import enums
from rapport.i18n.enums import COLUMN_ENUMS, domain_enums, label, timeline_labels, value_label
from rapport.i18n.labels import LABELS, t
from rapport.store import schema

SRC = Path(rapport.__file__).parent
#: Any CJK ideograph or CJK punctuation (full-width forms included).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- enumerations ------------------------------------------------------------------------


@pytest.mark.parametrize("enum", domain_enums(), ids=lambda e: e.__name__)
def test_every_domain_enum_member_has_both_labels(enum: type[StrEnum]) -> None:
    assert enum in enums.LABELS, f"{enum.__name__} has no labels in rapport.i18n.enums"
    assert set(enums.LABELS[enum]) == {m.value for m in enum}, enum.__name__
    for member in enum:
        zh, en = label(member, "zh_CN"), label(member, "en")
        assert zh.strip() and en.strip(), member
        assert zh != member.value, f"{enum.__name__}.{member.name}: zh label is the raw code"
        assert CJK.search(zh), f"{enum.__name__}.{member.name}: zh label {zh!r} is not Chinese"
        assert not CJK.search(en), f"{enum.__name__}.{member.name}: en label {en!r}"


def test_every_enum_column_of_the_store_is_labelled() -> None:
    """Values of every enumeration-typed column can be shown in either language."""
    for table in schema.metadata.sorted_tables:
        for column in table.columns:
            enum = getattr(column.type, "enum_class", None)
            if enum is not None:
                assert COLUMN_ENUMS.get((table.name, column.name)) is enum, (table, column)
    for (table, column), enum in COLUMN_ENUMS.items():
        assert column in schema.metadata.tables[table].columns, (table, column)
        for member in enum:
            assert value_label(table, column, member.value, "zh_CN") == label(member, "zh_CN")
            assert value_label(table, column, member.value, "en") == label(member, "en")


def test_value_label_keeps_data_that_is_no_code() -> None:
    assert value_label("orders", "channel", "某商城", "en") == "某商城"
    assert value_label("interactions", "subject", "add_to_cart", "zh_CN") == "add_to_cart"
    assert value_label("orders", "status", None, "en") == "—"


def test_timeline_kinds_and_details_are_translated() -> None:
    from rapport.domain import Channel, EventKind, OrderStatus

    assert timeline_labels("events", "add_to_cart", "app", "zh_CN") == (
        label(EventKind.ADD_TO_CART, "zh_CN"),
        label(Channel.APP, "zh_CN"),
    )
    assert timeline_labels("orders", "completed", "wechat", "en") == (
        label(OrderStatus.COMPLETED, "en"),
        label(Channel.WECHAT, "en"),
    )


def test_every_displayed_id_family_has_labels() -> None:
    """Ids shown through ``t(f"prefix.{id}")``: RFM segments of the rules, lifecycle
    phases, churn features, the value-tier checks."""
    rules = load_rules()
    segments = {rule.id for rule in rules.scores.rfm.segments} | {rules.scores.rfm.lapsed_segment}
    keys = [f"segment.{s}" for s in segments]
    keys += [f"phase.{p}" for p in LIFECYCLE_PHASES]
    keys += [f"feature.{f}" for f in CHURN_FEATURES]
    keys += [f"check.{c}" for c in ("revenue", "loyalty", "satisfaction", "engagement", "stage")]
    keys += [f"check.{c}" for c in ("churn_risk",)]
    missing = [k for k in keys if k not in LABELS]
    assert not missing, missing


# --- the label catalogue --------------------------------------------------------------------


def test_every_label_has_both_languages() -> None:
    for key, pair in LABELS.items():
        assert isinstance(pair, tuple) and len(pair) == 2, key
        zh, en = pair
        assert zh.strip() and en.strip(), key
        assert not CJK.search(en), f"{key}: the English label {en!r} holds Chinese"


def test_placeholders_are_the_same_in_both_languages() -> None:
    for key, (zh, en) in LABELS.items():
        assert _fields(zh) == _fields(en), key


def test_labels_that_read_as_chinese_are_chinese() -> None:
    """A zh label is Chinese unless it is a name or an abbreviation kept as it is (RFM,
    NPS …): then it equals the English one."""
    for key, (zh, en) in LABELS.items():
        assert CJK.search(zh) or zh == en, f"{key}: zh label {zh!r}"


def _literals(seq: ast.expr) -> list[str] | None:
    if isinstance(seq, ast.Tuple | ast.List) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in seq.elts
    ):
        return [e.value for e in seq.elts]
    return None


def _t_calls(nodes: list[ast.AST]) -> list[ast.Call]:
    return [
        n
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "t" and n.args
    ]


def _t_keys(tree: ast.AST) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Literal keys passed to ``t``, also through a loop (or comprehension) over a tuple of
    literals whose variable is the key, and the constant prefixes of f-string keys."""
    literal: list[tuple[str, int]] = []
    prefixes: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        scopes: list[tuple[ast.expr, ast.expr, list[ast.AST]]] = []
        if isinstance(node, ast.For):
            scopes.append((node.target, node.iter, list(node.body)))
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            body = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            scopes += [(g.target, g.iter, body) for g in node.generators]
        for target, seq, body in scopes:
            keys = _literals(seq)
            if keys is None or not isinstance(target, ast.Name):
                continue
            for call in _t_calls(body):
                arg = call.args[0]
                if isinstance(arg, ast.Name) and arg.id == target.id:
                    literal.extend((k, call.lineno) for k in keys)
    for call in _t_calls([tree]):
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            literal.append((arg.value, call.lineno))
        elif isinstance(arg, ast.JoinedStr) and arg.values:
            first = arg.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                prefixes.append((first.value, call.lineno))
        elif (
            isinstance(arg, ast.BinOp)
            and isinstance(arg.op, ast.Add)
            and isinstance(arg.left, ast.Constant)
            and isinstance(arg.left.value, str)
        ):
            prefixes.append((arg.left.value, call.lineno))
    return literal, prefixes


def _modules_calling_t() -> list[Path]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text("utf-8")
        if re.search(r"\bimport\b[^\n]*\bt\b", text) and "rapport.i18n.labels" in text:
            out.append(path)
    return out


def test_the_scan_finds_the_callers() -> None:
    """The scan below is not vacuous: it reads the CLI modules that translate."""
    names = {p.relative_to(SRC).as_posix() for p in _modules_calling_t()}
    assert {"cli/sample.py", "cli/models.py", "cli/output.py"} <= names


@pytest.mark.parametrize("path", _modules_calling_t(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_every_key_the_source_asks_for_exists(path: Path) -> None:
    literal, prefixes = _t_keys(ast.parse(path.read_text("utf-8")))
    where = path.relative_to(SRC).as_posix()
    missing = [f"{where}:{line}: {key!r}" for key, line in literal if key not in LABELS]
    assert not missing, "\n".join(missing)
    unknown = [
        f"{where}:{line}: {prefix!r}…"
        for prefix, line in prefixes
        if not any(key.startswith(prefix) for key in LABELS)
    ]
    assert not unknown, "\n".join(unknown)


def test_unknown_keys_fall_back_to_the_key() -> None:
    """What the completeness test guards against: a missing key shows the raw id."""
    assert t("no.such.key", "zh_CN") == "no.such.key"


def test_the_key_scan_sees_literals_loops_and_prefixes() -> None:
    source = (
        't("a.b", locale)\n'
        'for key in ("x", "y"):\n'
        "    t(key, locale)\n"
        'rows = [t(k) for k in ("z",)]\n'
        't(f"p.{value}")\n'
        "for key in other:\n"
        "    t(key)\n"
    )
    literal, prefixes = _t_keys(ast.parse(source))
    assert sorted(k for k, _ in literal) == ["a.b", "x", "y", "z"]
    assert [p for p, _ in prefixes] == ["p."]
