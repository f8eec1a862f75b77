"""One language at a time: what the demo, the customer card, the import report and
``models fit|show`` print is all Chinese under ``zh_CN`` and all English under ``en``.

The checks, precisely:

* **en**: no CJK character anywhere. The English sample company has English names and
  places, so any CJK text is an untranslated label.
* **zh_CN**: no table cell is an enumeration code (``add_to_cart``, ``completed`` …), an
  English enumeration label or an English label of the catalogue; and no English word of
  three or more letters is left in the text once the parts that are English by design are
  taken out: commands in backticks and options (``--format``), metric ids in brackets after
  their Chinese name (``客户留存率 (retention_rate)``), the store URL and time-zone name,
  model names and parameters, and the abbreviations of :data:`ABBREVIATIONS`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.analytics.metrics import METRICS
from rapport.cli.common import console
from rapport.cli.main import app
from rapport.config import get_settings
from rapport.i18n import enums
from rapport.i18n.labels import LABELS, t
from rapport.store import schema
from rapport.store.db import create_engine

runner = CliRunner()
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
CELL_SPLIT = re.compile(r"[│┃]")
#: Abbreviations and names written the same in Chinese texts.
ABBREVIATIONS = frozenset(
    {"Rapport", "RFM", "NPS", "SLA", "CLV", "CNY", "USD", "App", "csv", "json", "CDNOW"}
)
#: Model names and their parameters (``MBG/NBD``, ``alpha`` …) as in the papers, the
#: optimisers' names, and the measures of fit.
MODEL_WORDS = frozenset(
    {"MBG", "NBD", "BG", "Pareto", "Gamma", "Gamma-Gamma", "sBG", "alpha", "beta", "gamma"}
    | {"L-BFGS-B", "BFGS", "Newton", "Nelder-Mead", "ROC", "AUC", "ROC-AUC", "PR-AUC", "Brier"}
    | {"WAPE", "MAPE", "sha256"}
)
#: Saved model kinds, shown in brackets after the model's name (``MBG/NBD (mbgnbd)``): the
#: id ``rapport models show KIND`` takes.
MODEL_KINDS = ("mbgnbd", "bgnbd", "paretonbd", "gammagamma", "sbg", "churn", "demand")


def _invoke(*args: str):
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 2), (args, result.output)
    return result.output


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 400)  # file paths on one line


def _english_words(text: str) -> list[str]:
    settings = get_settings()
    text = text.replace(settings.safe_database_url(), " ").replace(settings.timezone, " ")
    text = text.replace(str(Path.cwd()), " ").replace(str(settings.data_dir.resolve()), " ")
    text = re.sub(r"\S*[/\\]\S*\.(?:db|csv|html|json)\b", " ", text)  # file paths
    text = re.sub(r"[\w.-]+\.(?:csv|xlsx|parquet|jsonl|db|html)\b", " ", text)  # file names
    text = re.sub(r"`[^`]*`", " ", text)  # commands
    text = re.sub(r"--[\w-]+", " ", text)  # options
    ids = "|".join(sorted(map(re.escape, METRICS), key=len, reverse=True))
    text = re.sub(rf"\((?:{ids})\)", " ", text)  # metric ids after their names
    text = re.sub(rf"\((?:{'|'.join(MODEL_KINDS)})\)", " ", text)  # model kinds, likewise
    text = re.sub(r"\b\d{8}T\d{12}Z-[0-9a-f]+", " ", text)  # saved model versions
    text = re.sub(r"sha256:[0-9a-f]+", " ", text)  # data fingerprints
    text = re.sub(r"(?i)\b(?:utf-?(?:8|16|32)(?:-sig)?|gb18030|gbk|big5)\b", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z_\-]{2,}", text)
    return [w for w in words if w not in ABBREVIATIONS and w not in MODEL_WORDS]


def _forbidden_cells() -> set[str]:
    """Texts that must never be a whole table cell in Chinese output."""
    out = set()
    for _enum, members in enums.LABELS.items():
        for value, (zh, en) in members.items():
            out.add(value)
            if en != zh:
                out.add(en)
    out |= {en for zh, en in LABELS.values() if en != zh and "{" not in en}
    return out - ABBREVIATIONS


def _cells(text: str) -> list[str]:
    return [
        cell.strip()
        for line in text.splitlines()
        if CELL_SPLIT.search(line)
        for cell in CELL_SPLIT.split(line)[1:-1]
        if cell.strip()
    ]


def assert_chinese(text: str) -> None:
    assert CJK.search(text), text
    bad = sorted({c for c in _cells(text) if c in _forbidden_cells()})
    assert not bad, f"untranslated cells: {bad}"
    words = sorted(set(_english_words(text)))
    assert not words, f"English words in Chinese output: {words}"


def assert_english(text: str) -> None:
    found = sorted(set(CJK.findall(text)))
    assert not found, f"CJK characters in English output: {''.join(found)}"


def test_the_checks_catch_what_they_are_for() -> None:
    assert_chinese("│ 类型 │ 加购 │\n客户留存率 (retention_rate)\n用 `rapport import --help`")
    for untranslated in ("│ 类型 │ add_to_cart │", "│ Revenue │ 1 │", "完成 done in 3 s"):
        with pytest.raises(AssertionError):
            assert_chinese(untranslated)
    with pytest.raises(AssertionError):
        assert_english("Import 客户")


def _without_data_of(customer_id: int, text: str) -> str:
    """``text`` without the customer's own data (name, e-mail, WeChat id, address …):
    data are shown as they are, in whatever language they were written."""
    engine = create_engine(get_settings().database_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.customers).where(schema.customers.c.id == customer_id)
        ).one()
    engine.dispose()
    values = [v for v in row._mapping.values() if isinstance(v, str)]
    values += [t for v in row._mapping.values() if isinstance(v, list) for t in v]
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _bad_customers(directory: Path, locale: str) -> Path:
    """Three customers: a bad phone and gender (dropped with warnings), a missing key
    (rejected). Headers and values in the locale's language, as a shop would have them."""
    path = directory / "customers.csv"
    if locale == "zh_CN":
        text = "客户编号,姓名,手机,性别\nC1,张三,13812345678,女\nC2,李四,12345,外星\n,王五,,男\n"
    else:
        text = "id,name,phone,gender\nC1,Ann,+12025550143,F\nC2,Bob,12345,alien\n,Cy,,M\n"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.slow  # a whole demo (300 customers, every model fitted) per locale: tens of seconds
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_demo_import_and_models_speak_one_language(
    locale: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    check = assert_chinese if locale == "zh_CN" else assert_english
    demo = _invoke("demo", "--customers", "300", "--months", "6")
    check(demo)
    # the diamond count is unambiguous: how many there are and how many are listed
    title = re.escape(t("diamonds_title", locale))
    title = re.sub(r"\\\{(\w+)\\\}", lambda m: rf"(?P<{m[1]}>[\d,:-]+)", title)
    found = re.search(title, demo)
    assert found, t("diamonds_title", locale)
    total, shown = (int(found[k].replace(",", "")) for k in ("total", "shown"))
    assert 0 < shown <= min(5, total)

    # the customer card: profile, timeline kinds and channels, degrees, tier, stage
    first = re.search(r"#(\d+)", demo)
    assert first, demo
    card = _invoke("customer", first[1], "--entries", "40")
    check(_without_data_of(int(first[1]), card))

    report = _invoke("import", "customers", str(_bad_customers(tmp_path, locale)))
    check(report)
    rejects = list(
        csv.DictReader(io.StringIO((tmp_path / "customers.rejects.csv").read_text("utf-8-sig")))
    )
    warnings = (tmp_path / "customers.warnings.csv").read_text("utf-8-sig")
    messages = [r["_message"] for r in rejects] + [
        r["_message"] for r in csv.DictReader(io.StringIO(warnings))
    ]
    assert messages and all(messages)
    for text in messages:
        if locale == "en":  # (an unknown value is quoted as it was, whatever its language)
            assert_english(re.sub(r"'[^']*'", "", text))
        else:
            assert CJK.search(text), text

    day = re.search(r"… (\d{4}-\d{2}-\d{2})", demo)
    assert day, demo
    fitted = _invoke("models", "fit", "--as-of", day[1])
    check(fitted)
    assert "!" not in fitted, "a model was left out: the check would not see its output"
    shown = _invoke("models", "show")
    check(shown)
    table = list(csv.DictReader(io.StringIO(_invoke("models", "show", "--format", "csv"))))
    assert table, "models show --format csv printed no rows"
    params = [r for r in table if r["parameter"]]
    assert params, table
    for row in params:
        low, estimate, high = (float(row[k]) for k in ("ci_low", "estimate", "ci_high"))
        assert low <= estimate <= high, row
        assert float(row["std_error"]) >= 0, row
