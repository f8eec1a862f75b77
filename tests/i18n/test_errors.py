"""Domain errors in the configured language: every error a person can meet is raised with a
key, every key has its Chinese template, with the placeholders of the English one, and every
template is used.

The check walks the source (every ``raise SomeError(…)`` and the error factories of
:mod:`rapport.errors`), so a new error is covered the day it is written.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import rapport
from rapport import errors
from rapport.errors import NotFound, RapportError, StoreUnavailable
from rapport.i18n.errors import MESSAGES, error_text, message_text

SRC = Path(rapport.__file__).parent
TREES = {path: ast.parse(path.read_text("utf-8")) for path in sorted(SRC.rglob("*.py"))}


def _error_names() -> set[str]:
    """The error classes of :mod:`rapport.errors` and every subclass of them the source
    defines (``UnreadableFile`` …), and ``cls`` of their factories."""
    names = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, RapportError)
    }
    classes = [n for tree in TREES.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    while True:
        more = {
            c.name
            for c in classes
            if any(getattr(b, "id", getattr(b, "attr", None)) in names for b in c.bases)
        }
        if more <= names:
            return names | {"cls"}
        names |= more


ERROR_NAMES = _error_names()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _text(node: ast.expr | None) -> str | None:
    """The literal text of a string, an f-string (its literal parts) or a concatenation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def _strings(node: ast.expr | None) -> list[str]:
    """Each literal string ``node`` may be (``"a" if x else "b"`` is two)."""
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    text = _text(node)
    return [] if text is None else [text]


def _keyed_errors() -> list[tuple[str, ast.Call]]:
    found = []
    for path, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            keywords = {k.arg: k.value for k in node.keywords}
            if name in ERROR_NAMES and "key" in keywords:
                where = f"{path.relative_to(SRC)}:{node.lineno}"
                found.append((where, node))
    return found


KEYED = _keyed_errors()


def _error_calls(tree: ast.Module) -> list[ast.Call]:
    """The calls of an error class in ``tree``; ``cls(…)`` only inside an error class."""
    inside_errors = {
        id(node)
        for c in ast.walk(tree)
        if isinstance(c, ast.ClassDef) and c.name in ERROR_NAMES
        for node in ast.walk(c)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (name := getattr(node.func, "id", getattr(node.func, "attr", None))) in ERROR_NAMES
        and (name != "cls" or id(node) in inside_errors)
    ]


def _unkeyed_errors() -> list[str]:
    return sorted(
        f"{path.relative_to(SRC)}:{call.lineno}"
        for path, tree in TREES.items()
        for call in _error_calls(tree)
        if "key" not in {k.arg for k in call.keywords}
    )


def test_every_error_a_person_can_meet_has_a_key() -> None:
    """An error without a key is English under ``zh_CN``. A mistake of the calling code, no
    person's, is a ``ValueError``, ``TypeError`` or ``AssertionError``, not a domain error."""
    unkeyed = _unkeyed_errors()
    assert not unkeyed, "errors raised without a key:\n" + "\n".join(unkeyed)


def test_the_walk_sees_an_error_without_a_key() -> None:
    tree = ast.parse(
        "class UnreadableFile(ValidationFailed):\n"
        "    @classmethod\n"
        "    def make(cls):\n"
        "        return cls('odd')\n"
        "class Plain:\n"
        "    @classmethod\n"
        "    def make(cls):\n"
        "        return cls()\n"
        "raise NotFound('gone', key='gone')\n"
        "raise errors.Conflict('twice')\n"
    )
    assert sorted(c.lineno for c in _error_calls(tree)) == [4, 9, 10]


def test_the_walk_finds_the_keyed_errors() -> None:
    assert len(KEYED) >= 30, len(KEYED)
    assert any(where.startswith("errors.py") for where, _ in KEYED)
    assert any(where.startswith("analytics/connect.py") for where, _ in KEYED)
    assert any(where.startswith("ingest/readers.py") for where, _ in KEYED)  # UnreadableFile
    assert "UnreadableFile" in ERROR_NAMES


#: Files that raise again an error raised elsewhere, with its key as it came (a name, not a
#: literal): why each may.
RELAYED = {"workers.py": "raises in the server the error a worker process raised, keyed"}


@pytest.mark.parametrize(("where", "call"), KEYED, ids=[w for w, _ in KEYED])
def test_every_keyed_error_has_its_chinese_template(where: str, call: ast.Call) -> None:
    keywords = {k.arg: k.value for k in call.keywords}
    if isinstance(keywords["key"], ast.Name) and where.split(":")[0] in RELAYED:
        return
    keys = _strings(keywords["key"])
    assert keys, f"{where}: the key is not a literal"
    englishes = _strings(call.args[0]) if call.args else []
    assert englishes, f"{where}: the message is not a literal template"
    if len(englishes) == 1:
        englishes *= len(keys)
    assert len(englishes) == len(keys), f"{where}: one key per message"
    hints = _strings(keywords.get("hint"))  # ``None if … else "{advice}"`` is one template
    params = keywords.get("params")
    if isinstance(params, ast.Dict):
        names = {_text(k) for k in params.keys}
        wanted = set().union(*map(_fields, englishes), *map(_fields, hints))
        if None in names:  # ``**more``: the literal names must at least be used
            assert names - {None} <= wanted, f"{where}: params {names} for {englishes}"
        else:
            assert names == wanted, f"{where}: params {names} for {englishes} and {hints}"
    for key, english in zip(keys, englishes, strict=True):
        assert key in MESSAGES, f"{where}: no Chinese message {key!r}"
        assert _fields(MESSAGES[key]) == _fields(english), f"{where}: {key}"
    if "hint" in keywords:
        hint_keys = _strings(keywords.get("hint_key")) or [f"{k}.hint" for k in keys]
        for key in hint_keys:
            assert key in MESSAGES, f"{where}: no Chinese hint {key!r}"
            if hints:
                assert _fields(MESSAGES[key]) <= set().union(*map(_fields, hints)), where


def test_every_chinese_template_is_used() -> None:
    used = set()
    for _, call in KEYED:
        keywords = {k.arg: k.value for k in call.keywords}
        keys = _strings(keywords["key"])
        used |= set(keys) | {f"{k}.hint" for k in keys} | set(_strings(keywords.get("hint_key")))
    assert set(MESSAGES) <= used, sorted(set(MESSAGES) - used)


def test_the_cli_text_is_in_the_locale_and_the_api_message_stays_english() -> None:
    error = StoreUnavailable.missing("/srv/rapport.db")
    assert error.message == "no store at /srv/rapport.db"
    assert error.to_dict() == {
        "error": "StoreUnavailable",
        "message": "no store at /srv/rapport.db",
        "hint": "run `rapport init` to create it, or `rapport demo` for a sample company",
    }
    assert error_text(error, "en") == str(error)
    assert error_text(error, "zh_CN") == (
        "找不到数据库 /srv/rapport.db — 运行 `rapport init` 创建数据库，或运行 `rapport demo` "
        "生成样例公司"
    )
    assert message_text(error, "zh_CN") == "找不到数据库 /srv/rapport.db"
    # an error raised without a key keeps its English words in either language
    plain = NotFound("no such thing", hint="look elsewhere")
    assert error_text(plain, "zh_CN") == error_text(plain, "en") == "no such thing — look elsewhere"


def test_an_error_a_worker_raises_keeps_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's analytics run in worker processes; the error one raises is raised again
    in the server with its key, so the web shows it in Chinese, and its English unchanged,
    braces and all."""
    from concurrent.futures import Future

    from rapport import workers
    from rapport.errors import ValidationFailed

    class Pool:
        def submit(self, work, *args):  # type: ignore[no-untyped-def]
            done: Future = Future()
            done.set_result(work(*args))
            return done

    monkeypatch.setattr(workers, "_executor", Pool)
    with pytest.raises(ValidationFailed) as caught:
        workers.run_in_worker(_refuse_a_period, "{2024}", what="metrics", hint="retry")
    assert caught.value.message == "cannot read the period '{2024}'"
    assert error_text(caught.value, "zh_CN").startswith("无法识别期间 '{2024}' — 可写作 2024")
    with pytest.raises(StoreUnavailable) as other:
        workers.run_in_worker(_find_nothing, what="metrics", hint="retry")
    assert other.value.message == "NotFound: no thing {x}"
    assert error_text(other.value, "zh_CN") == "NotFound: no thing {x}"  # no key, no Chinese


def _refuse_a_period(text: str) -> None:
    from rapport.analytics.periods import Period

    Period.parse(text)


def _find_nothing() -> None:
    raise NotFound("no thing {x}")


#: English units a number may carry; a Chinese sentence says 天, 周, 个月, 行, 位客户, 积分 …
ENGLISH_UNITS = re.compile(
    r"\b(?:days?|weeks?|months?|years?|rows?|customers?|points?|seconds?|hours?|characters?"
    r"|times|entries|orders?|tickets?|values?)\b"
)


def test_the_chinese_templates_count_in_chinese_units() -> None:
    assert ENGLISH_UNITS.search("at most 12 customers")  # the check sees an English unit
    for key, zh in MESSAGES.items():
        # what is typed or named, not said: placeholders, commands, quotes, identifiers
        said = re.sub(r"\{[^}]*\}|`[^`]*`|'[^']*'|\"[^\"]*\"|\b\w+[.:]\w+\b|\[[^\]]*\]", " ", zh)
        assert not ENGLISH_UNITS.search(said), (key, zh)


def test_a_duration_in_a_chinese_sentence_has_chinese_units() -> None:
    from rapport.errors import ValidationFailed
    from rapport.models.units import Duration

    for duration, shown in ((Duration(1, "days"), "1 天"), (Duration(26, "weeks"), "26 周")):
        error = ValidationFailed(
            "a holdout of {holdout} is too short to test anything",
            key="backtest_holdout_short",
            params={"holdout": duration},
        )
        assert error_text(error, "zh_CN") == f"留出期 {shown} 太短，无法检验"
        assert error.message == f"a holdout of {duration} is too short to test anything"


def _records_not_found() -> list[NotFound]:
    """The not-found error of every kind of record the product names: each repository of
    the store, the two kinds of job, a staged upload."""
    import importlib
    import pkgutil

    import rapport.store
    from rapport.store import import_jobs
    from rapport.store.repository import Repository

    found = []
    for info in pkgutil.iter_modules(rapport.store.__path__):
        module = importlib.import_module(f"rapport.store.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Repository):
                found.append(value.not_found(7))
    found += [import_jobs.not_found("ab12", entity=kind) for kind in ("import job", "scoring job")]
    return found


def test_every_record_not_found_is_all_chinese_in_chinese() -> None:
    # the record's noun is a parameter: one missing from the nouns stayed English
    missing = []
    for error in _records_not_found():
        text = error_text(error, "zh_CN")
        if re.search(r"[A-Za-z]{3,}", text.replace("ab12", "").replace("API", "")):
            missing.append(text)
    assert len(_records_not_found()) > 20
    assert not missing, missing
