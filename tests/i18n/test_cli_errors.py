"""Errors in one language: typer's usage errors (an unknown option, a missing argument, a
value of the wrong type) and the domain errors a user meets at the command line — a bad
period, an unreadable file, a weak password, a value the store refuses — are Chinese under
``zh_CN`` with typer's exit code 2 or the error's own, and English under ``en``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import zxcvbn

from rapport.cli.common import console, err_console
from rapport.errors import ValidationFailed
from rapport.i18n.errors import error_text, message_text, text_zh
from rapport.store import rules, schema
from rapport.store.repository import Repository
from tests.i18n.test_cli_locale import CJK, assert_chinese, assert_english
from tests.i18n.test_cli_messages import rapport

#: A passphrase every password policy accepts.
STRONG = "blue kettle orbit"


def _words(text: str) -> str:
    """``text`` without what is a name rather than words: quoted values, the command path,
    identifiers in brackets (``[users.password]``), ``table.field`` and column names."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)
    text = re.sub(r"\brapport(?: [a-z-]+)*", " ", text)
    text = re.sub(r"可选：[\w, ]+", " ", text)  # the values an option takes, as typed
    text = re.sub(r"的字段：[\w, ]+", " ", text)  # the columns of a table
    text = re.sub(r"\bNone\b", " ", text)  # a missing value, shown as Python writes it
    text = re.sub(r"\[[\w.]+\]|\b\w+\.\w+\b|\{\w+\}", " ", text)
    text = re.sub(r"\b(?:username|password|sales|users)\b", " ", text)  # columns, roles
    return re.sub(r"\.?\b(?:CSV|Excel|xlsx?|XLSX|Parquet|JSON|TOML)\b", " ", text)  # formats


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "_width", 400)
    monkeypatch.setattr(err_console, "_width", 400)
    monkeypatch.setenv("COLUMNS", "400")  # typer's own error panel: messages on one line
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'rapport.db'}")
    return tmp_path


USAGE_ERRORS = [
    (("metrics", "--nope"), "没有这个选项：--nope", "No such option: --nope"),
    (("metrics", "--form", "json"), "可能的选项：--format", "Possible options: --format"),
    (("customer",), "缺少参数 'CUSTOMER'", "Missing argument 'CUSTOMER'"),
    (("demo", "--customers", "x"), "'--customers' 的值无效：需要整数", "Invalid value for"),
    (("demo", "--customers", "5"), "不能小于 100", "greater than or equal to 100"),
    (("metrics", "--format", "xml"), "'xml' 不是可选值", "'xml' is not one of"),
    (("nosuch",), "没有这个命令：'nosuch'", "No such command 'nosuch'"),
    (("scor",), "没有这个命令：'scor'。要用的是 'score' 吗？", "Did you mean 'score'?"),
    (("models", "fitt"), "要用的是 'fit' 吗？", "No such command 'fitt'"),
    (("status", "1"), "多余的参数：1", "Got unexpected extra argument"),
    (("models", "fit", "--nope"), "没有这个选项：--nope", "No such option: --nope"),
    (("metrics", "--period"), "选项 '--period' 需要一个值", "requires an argument"),
]


@pytest.mark.parametrize(("args", "chinese", "english"), USAGE_ERRORS, ids=lambda a: str(a))
def test_usage_errors_speak_the_locale_and_exit_2(
    args: tuple[str, ...],
    chinese: str,
    english: str,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    code, text = rapport(monkeypatch, capsys, *args)
    assert code == 2, text
    assert chinese in text and "错误" in text, text
    if "--help" in text:  # the usage line and the help suggestion, when typer shows them
        assert "用法：" in text and "查看帮助" in text, text
    for english_word in ("Usage", "Try", "Error", "Invalid", "Missing", "No such", "[OPTIONS]"):
        assert english_word not in text, text
    assert_chinese(_words(text))

    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    code, text = rapport(monkeypatch, capsys, *args)
    assert code == 2 and english in text and "Error" in text, text
    assert_english(text)


def test_domain_errors_at_the_command_line_speak_the_locale(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (store / "empty.csv").write_bytes(b"")
    (store / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    (store / "twice.csv").write_text("客户编号,客户编号\nC1,C2\n", "utf-8")
    cases = [
        # (arguments, standard input, exit code, Chinese, English)
        (("metrics", "--period", "2024-13"), "", 7, "月份必须在 1 到 12 之间", "month must be"),
        (("metrics", "--last", "0d"), "", 7, "相对期间的长度必须为正数", "positive length"),
        (("metrics", "--as-of", "soon"), "", 7, "需要 2024-12-31 这样的日期", "expected a date"),
        (("init",), "", 0, "", ""),
        (("import", "customers", "missing.csv"), "", 10, "文件不存在", "no such file"),
        (("import", "customers", "empty.csv"), "", 10, "文件是空的", "the file is empty"),
        (("import", "customers", "old.xls"), "", 10, "旧版 Excel", "old Excel .xls"),
        (("import", "customers", "twice.csv"), "", 10, "在表头中出现了两次", "appears twice"),
        (
            ("users", "add", "li.na", "--role", "sales", "--password-stdin"),
            "12345678",
            7,
            "密码被拒绝：太容易被猜到（这是最常见的 10 个密码之一）",
            "too easy to guess (this is a top-10 common password)",
        ),
        (
            ("users", "add", "li.na", "--role", "sales", "--password-stdin"),
            "li.na.li.na",
            7,
            "密码被拒绝：就是用户名，或与用户名太接近",
            "the username or too close to it",
        ),
        (("users", "add", "li.na", "--role", "sales", "--no-password"), "", 0, "", ""),
        (("users", "add", "li.na", "--role", "sales", "--no-password"), "", 6, "已存在", "exists"),
        (
            ("users", "add", " wang", "--role", "sales", "--no-password"),
            "",
            7,
            "不能为空，前后不能有空格",
            "without surrounding spaces",
        ),
        (
            ("users", "passwd", "nobody", "--password-stdin"),
            STRONG,
            5,
            "没有用户名为 'nobody' 的用户",
            "no user",
        ),
        (("users", "passwd", "li.na", "--password-stdin"), "short", 7, "密码至少需要", "at least"),
        (("movements", "--by", "colour"), "", 7, "--by 不接受 'colour'", "--by 'colour'"),
        (("segments",), "", 5, "还没有评分快照", "no score snapshot"),
    ]
    for locale in ("zh_CN", "en"):
        (store / "rapport.db").unlink(missing_ok=True)
        monkeypatch.setenv("RAPPORT_LOCALE", locale)
        for args, stdin, expected, chinese, english in cases:
            code, text = rapport(monkeypatch, capsys, *args, stdin=stdin)
            assert code == expected, (locale, args, text)
            if expected == 0:
                continue
            if locale == "zh_CN":
                assert chinese in text and "错误：" in text, (args, text)
                assert_chinese(_words(text.replace(str(store), " ")))
            else:
                assert english in text, (args, text)
                assert_english(re.sub(r"'[^']*'", " ", text))  # a column named in Chinese


def _refusal(repo: Repository, values: dict) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        repo.validate(values)
    return info.value


@pytest.mark.parametrize(
    ("values", "chinese"),
    [
        ({"external_id": "C1", "gender": "robot"}, "未知的取值 — 可选："),
        ({"external_id": "C1", "loyalty_joined_at": "2024-01-01"}, "需要日期和时间"),
        ({"external_id": "C1", "birthday": "1990"}, "需要日期"),
        ({"external_id": "C1", "marketing_consent": "yes"}, "需要 true 或 false"),
        ({"external_id": "C1" * 200}, "超过"),
        ({"external_id": None}, "必填"),
        ({"external_id": "C1", "colour": "red"}, "没有这个字段 — 客户的字段："),
        ({"external_id": "C1", "owner_id": 2**40}, "超出 32 位整数的范围"),
    ],
)
def test_the_store_refuses_values_in_the_locale(values: dict, chinese: str) -> None:
    repo = Repository(schema.customers, entity="customer")
    error = _refusal(repo, values)
    text = error_text(error, "zh_CN")
    assert chinese in text, text
    assert text.startswith("customers."), text  # where, as in English
    assert_chinese(_words(text).replace("true", " ").replace("false", " "))
    # the API's message and JSON stay English
    assert error_text(error, "en") == str(error)
    assert error.to_dict()["message"] == error.message == message_text(error, "en")
    assert_english(str(error))


def _literal_arguments(module: Path, function: str, first: int = 0) -> set[str]:
    """The literal strings passed to ``function`` (a name or a method) in ``module`` as its
    arguments from the ``first`` on."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text("utf-8"))):
        if isinstance(node, ast.Call) and function in (
            getattr(node.func, "id", None),
            getattr(node.func, "attr", None),
        ):
            found |= {
                a.value
                for a in node.args[first:]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return found


def test_every_text_a_message_quotes_has_its_chinese() -> None:
    """The problems and hints of the column rules and the repository, the nouns of the
    records and their natural keys, and zxcvbn's warnings and tips: the texts errors carry
    as parameters."""
    source = Path(rules.__file__).parent.parent
    texts = _literal_arguments(source / "store/repository.py", "_fail", first=2)
    texts |= {rules.REQUIRED, rules.UNKNOWN_VALUE, rules.NOT_FINITE, rules.FINITE_AMOUNT}
    for table in schema.metadata.sorted_tables:
        for rule in rules.column_rules(table).values():
            if rule.enum:
                texts.add(rule.enum_hint())
            if rule.max_length:
                texts.add(rule.length_problem())
            if rule.integer_bits:
                texts |= {rule.integer_problem(), rule.integer_hint()}
            if rule.precision is not None:
                texts |= {rule.amount_problem(), rule.amount_hint()}
            if rule.scale is not None:
                texts |= {rule.scale_problem(), rule.scale_hint()}
            if rule.bounds is not None and rule.bounds.low is not None:
                texts.add(rule.bounds.low_problem)
            if rule.bounds is not None and rule.bounds.high is not None:
                texts.add(rule.bounds.high_problem)
            if rule.name in Repository(table, entity="x", key=None).references:
                parent = Repository(table, entity="x", key=None).references[rule.name].name
                texts |= {f"no {parent} row with id 7", f"create the {parent} row first"}
        texts.add(f"fields of {table.name}: a, b")
    for path in source.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Repository":
                texts |= {
                    k.value.value
                    for k in node.keywords
                    if k.arg in ("entity", "key")
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is not None
                }
    texts.add("external_id")  # the natural key by default
    feedback = (Path(zxcvbn.__file__).parent / "feedback.py").read_text("utf-8")
    for match in re.finditer(r"_\(((?:\s*(?:'[^']*'|\"[^\"]*\"))+)\s*\)", feedback):
        texts.add(ast.literal_eval(f"({match[1]})"))
    assert len(texts) > 60, len(texts)
    untranslated = sorted(t for t in texts if text_zh(t) == t or not CJK.search(text_zh(t)))
    assert not untranslated, untranslated


def test_two_different_password_entries_are_refused_in_the_locale(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from rapport.cli.main import app
    from rapport.config import get_settings

    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    runner = CliRunner()
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(
        app, ["users", "add", "li.na", "--role", "sales"], input=f"{STRONG}\n{STRONG}x\n"
    )
    assert isinstance(result.exception, ValidationFailed), result.output
    assert error_text(result.exception, "zh_CN") == "两次输入的密码不一致"
    assert result.exception.message == "the two passwords differ"
    assert "密码" in result.output and "再次" in result.output  # both prompts, in Chinese
    result = runner.invoke(
        app, ["users", "add", "li.na", "--role", "sales"], input=f"{STRONG}\n{STRONG}\n"
    )
    assert result.exit_code == 0, result.output


def test_errors_of_each_area_speak_the_locale(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One error of each area whose refusals carry keys, as the command line prints it:
    the reports (a grouping), the importer (a required column, a mapping file), its
    entities, the configuration (a rules file, an environment variable) and the models (a
    saved document, a duration in Chinese units)."""
    (store / "cols.csv").write_text("姓名\n张伟\n", "utf-8")
    (store / "bad.toml").write_text("[columns\n", "utf-8")
    (store / "rules.toml").write_text("[loyalty]\npoints_expire_days = -3\n", "utf-8")
    saved = store / "data" / "models" / "bgnbd"
    saved.mkdir(parents=True)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(store / "data"))
    rules = {"RAPPORT_CONFIG_FILE": str(store / "rules.toml")}
    missing = {"RAPPORT_CONFIG_FILE": str(store / "none.toml")}
    unparsable = {"RAPPORT_PASSWORD_MIN_LENGTH": "abc"}
    cases = [
        # (arguments, environment, exit code, Chinese, English)
        (("metrics", "--by", "colour"), {}, 7, "不是可用的分组方式", "not a grouping"),
        (
            ("import", "customers", "cols.csv"),
            {},
            7,
            "必填字段 external_id 没有对应的列",
            "no column for required field(s) external_id",
        ),
        (("import", "nosuch", "cols.csv"), {}, 7, "未知的导入对象", "unknown entity"),
        (
            ("import", "customers", "cols.csv", "--mapping", "none.toml"),
            {},
            3,
            "映射文件 none.toml 不存在",
            "mapping file none.toml does not exist",
        ),
        (
            ("import", "customers", "cols.csv", "--mapping", "bad.toml"),
            {},
            3,
            "TOML 格式无效",
            "invalid TOML",
        ),
        (("metrics",), missing, 3, "配置文件", "configuration file"),
        (("metrics",), rules, 3, "必须大于 0 — 修改这个键，或删除它", "greater than 0"),
        (("metrics",), unparsable, 3, "需要整数", "valid integer"),
        (("models", "show", "bgnbd"), {}, 7, "不是可读的模型文件", "not a readable model"),
        (("models", "backtest", "--holdout", "1d"), {}, 7, "留出期 1 天 太短", "1 days"),
    ]
    for locale in ("zh_CN", "en"):
        (store / "rapport.db").unlink(missing_ok=True)
        monkeypatch.setenv("RAPPORT_LOCALE", locale)
        assert rapport(monkeypatch, capsys, "init")[0] == 0
        (saved / "20240101.json").write_text("{not json", "utf-8")
        for args, env, expected, chinese, english in cases:
            with monkeypatch.context() as m:
                for name, value in env.items():
                    m.setenv(name, value)
                code, text = rapport(monkeypatch, capsys, *args)
            assert code == expected, (locale, args, text)
            if locale == "zh_CN":
                assert chinese in text and "错误：" in text, (args, text)
                shown = text.replace(str(saved / "20240101.json"), " ")
                words = _words(shown.replace(str(store), " "))
                # what a library says in English (the TOML parser, the JSON reader)
                words = re.sub(r"：[^：—]*[A-Za-z][^：—]*(?=[）—])|（[^（）]*）", " ", words)
                words = re.sub(r"\bRAPPORT_\w+", " ", words)  # the variable's name
                assert_chinese(words)
            else:
                assert english in text, (args, text)
                assert_english(re.sub(r"'[^']*'|姓名", " ", text))  # the file's own column


def test_the_stores_refusals_of_tags_and_points_speak_the_locale() -> None:
    """Customers' tags and loyalty points: refusals the API and the web show."""
    from rapport.store import customers, loyalty

    with pytest.raises(ValidationFailed) as tag:
        customers.with_tag(["vip"], "x" * 500)
    assert error_text(tag.value, "zh_CN").startswith("customers.tags：不能添加标签 'xxx")
    assert "（太长）" in error_text(tag.value, "zh_CN")
    assert "每位客户最多" in error_text(tag.value, "zh_CN")
    assert tag.value.message.startswith("customers.tags: cannot add 'xxx")
    assert_english(str(tag.value))
    with pytest.raises(ValidationFailed) as points:
        loyalty.redeem(
            session=None,  # type: ignore[arg-type]  # refused before the store is read
            customer_id=1,
            points=0,
            at=None,  # type: ignore[arg-type]
            reference="r",
        )
    assert error_text(points.value, "zh_CN") == (
        "loyalty_ledger.points = 0：兑换的积分必须是正数 — 请给出大于 0 的积分数"
    )
    assert points.value.message == "loyalty_ledger.points = 0: redeem a positive number of points"


@pytest.mark.parametrize(
    ("rules", "chinese"),
    [
        ('[business]\npurchase_statuses = ["cancelled", "paid"]\n', "从不算作购买"),
        ("[scores.loyalty.weights]\nrepeat = -1\n", "不能小于 0"),
        ("[sla.first_response_hours]\nurgent = -1\n", "目标必须是正数小时"),
        ('[[loyalty.tiers]]\ncode = "gold"\nmin_points = 10\n', "min_points = 0"),
        ("[loyalty]\nnosuch = 1\n", "没有这个键"),
    ],
)
def test_a_refused_rules_file_says_why_in_the_locale(
    rules: str,
    chinese: str,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The checks of the rules (config.py) as pydantic reports them, in Chinese: where (the
    file and the key), why, and what to do."""
    (store / "rules.toml").write_text(rules, "utf-8")
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(store / "rules.toml"))
    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    code, text = rapport(monkeypatch, capsys, "metrics")
    assert code == 3, text
    assert chinese in text and "修改这个键，或删除它" in text, text
    assert "Value error" not in text and "Input should" not in text, text
