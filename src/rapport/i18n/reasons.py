"""Why an import rejected a row or dropped a value: stable codes and messages in zh-CN and en.

The importer states every problem in English (``"not a date: '2024-13-45'"``); that text is
the ``_reason`` column of reject and warning files, kept as it is for scripts that read it.
:data:`REASONS` recognises each kind of problem by a pattern of that text and gives it a
stable code (``not_date``) and a message template in each language, filled with the parts
the pattern captures (the value, the column, a limit …).

A ``_reason`` holds one problem (``"duplicate 客户编号: same as row 5"``) or several, each
after its column: ``"下单时间: not a date or time: 'x'; 金额: must be >= 0"``.
:func:`split_reason` takes it apart, :func:`reason_codes` and :func:`localize_reason` turn it
into codes and into a message for people. A text no pattern knows keeps its English words
and the code ``other``: nothing is lost, and the completeness test names the pattern to add.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache

from rapport.i18n.locale import is_chinese, pick

#: What a reader appends to the problem of the last row of a file that ends mid-row.
CUT_NOTE = " (the file seems cut off here)"
_CUT_NOTE_ZH = "（文件似乎在此处被截断）"
#: The code of a problem no pattern of :data:`REASONS` recognises.
OTHER = "other"


@dataclass(frozen=True)
class Reason:
    """One kind of problem: ``code``, the ``pattern`` of its English text (named groups are
    the template fields; a group may be absent in the short form of the import report's
    summary) and the ``zh`` and ``en`` message templates."""

    code: str
    pattern: str
    zh: str
    en: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)

    def fields(self, locale: str) -> set[str]:
        """The fields the template of ``locale`` uses."""
        return _names(pick((self.zh, self.en), locale))


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


#: A quoted value as :func:`rapport.ingest.text.quote` writes it, with the ``": "`` before
#: it, optional: the report's summary leaves the value out (and may keep the colon).
_V = r"(?P<value>: '.*'|:)?"
_N = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"

REASONS: tuple[Reason, ...] = (
    # one value (rapport.ingest.validate, normalize, numbers, dates)
    Reason("required", r"required value missing", "必填值缺失", "required value missing"),
    Reason(
        "too_long",
        r"longer than (?P<limit>\d+) characters",
        "超过 {limit} 个字符",
        "longer than {limit} characters",
    ),
    Reason("min", rf"must be >= (?P<limit>{_N})", "不能小于 {limit}", "must be >= {limit}"),
    Reason("min_exclusive", rf"must be > (?P<limit>{_N})", "必须大于 {limit}", "must be > {limit}"),
    Reason("max", rf"must be <= (?P<limit>{_N})", "不能大于 {limit}", "must be <= {limit}"),
    Reason(
        "int_out_of_range",
        r"outside the range of a (?P<bits>\d+)-bit integer",
        "超出 {bits} 位整数的范围",
        "outside the range of a {bits}-bit integer",
    ),
    Reason(
        "birthday_too_early",
        r"a birthday before (?P<date>\d{4}-\d{2}-\d{2})",
        "生日早于 {date}",
        "a birthday before {date}",
    ),
    Reason(
        "birthday_in_future", r"a birthday in the future", "生日在未来", "a birthday in the future"
    ),
    Reason("not_bool", rf"not yes or no{_V}", "不是“是”或“否”{value}", "not yes or no{value}"),
    Reason(
        "not_email",
        rf"not an e-mail address{_V}",
        "不是电子邮件地址{value}",
        "not an e-mail address{value}",
    ),
    Reason(
        "not_phone", rf"not a phone number{_V}", "不是电话号码{value}", "not a phone number{value}"
    ),
    Reason("not_amount", rf"not an amount{_V}", "不是金额{value}", "not an amount{value}"),
    Reason(
        "amount_out_of_range",
        rf"amount out of range{_V}",
        "金额超出范围{value}",
        "amount out of range{value}",
    ),
    Reason("not_int", rf"not a whole number{_V}", "不是整数{value}", "not a whole number{value}"),
    Reason("not_number", rf"not a number{_V}", "不是数字{value}", "not a number{value}"),
    Reason(
        "not_datetime",
        rf"not a date or time{_V}",
        "不是日期或时间{value}",
        "not a date or time{value}",
    ),
    Reason("not_date", rf"not a date{_V}", "不是日期{value}", "not a date{value}"),
    Reason(
        "nonexistent_time",
        rf"time does not exist in (?P<zone>[\w/+-]+){_V}",
        "该时间在时区 {zone} 中不存在（夏令时跳过的时刻）{value}",
        "time does not exist in {zone}{value}",
    ),
    Reason(
        "unknown_value",
        # the short form of the report's summary, or the whole text with every part
        r"unknown value(?: (?P<value>'.*') for (?P<enum>[a-z ]+); use one of: (?P<codes>.*?)"
        r"(?: \(or (?P<labels>.*)\))?)?",
        "无法识别的取值[ {value}][；可用：{labels}][（或 {codes}）]",
        "unknown value[ {value} for {enum}; use one of: {codes}]",
    ),
    Reason(
        "invalid_json",
        r"not valid JSON \((?P<detail>.*)\)",
        "不是有效的 JSON",
        "not valid JSON ({detail})",
    ),
    Reason(
        "nul",
        r"must not contain NUL characters",
        "不能含 NUL 字符",
        "must not contain NUL characters",
    ),
    Reason(
        "invalid_unicode",
        r"must be valid Unicode text \(no unpaired surrogates\)",
        "必须是有效的 Unicode 文本（不能有不成对的代理字符）",
        "must be valid Unicode text (no unpaired surrogates)",
    ),
    Reason(
        "json_not_finite", r"numbers must be finite", "数值必须是有限数", "numbers must be finite"
    ),
    Reason(
        "tags_not_list",
        r"tags must be a list of texts",
        "标签必须是文本列表",
        "tags must be a list of texts",
    ),
    # across the fields of a row (rapport.ingest.rules)
    Reason(
        "converted_at",
        r"a converted lead needs converted_at, and only a converted lead has one",
        "已转化的线索必须有 converted_at，未转化的线索不能有",
        "a converted lead needs converted_at, and only a converted lead has one",
    ),
    Reason(
        "before_opened",
        r"(?P<field>\w+) is before opened_at",
        "{field} 早于 opened_at",
        "{field} is before opened_at",
    ),
    Reason(
        "scale_order",
        r"scale_max must be greater than scale_min",
        "scale_max 必须大于 scale_min",
        "scale_max must be greater than scale_min",
    ),
    Reason(
        "score_outside_scale",
        r"score is outside the scale",
        "score 超出量表范围",
        "score is outside the scale",
    ),
    Reason(
        "referral_target",
        r"a referral needs referred_lead_external_id or referred_customer_external_id",
        "推荐记录需要 referred_lead_external_id 或 referred_customer_external_id",
        "a referral needs referred_lead_external_id or referred_customer_external_id",
    ),
    Reason(
        "self_referral",
        r"a customer cannot refer themselves",
        "客户不能推荐自己",
        "a customer cannot refer themselves",
    ),
    Reason(
        "holdout_sent",
        r"a holdout delivery is never sent: leave sent_at empty",
        "对照组的触达不会发送：sent_at 应留空",
        "a holdout delivery is never sent: leave sent_at empty",
    ),
    Reason(
        "ended_before_started",
        r"ended_at is before started_at",
        "ended_at 早于 started_at",
        "ended_at is before started_at",
    ),
    Reason(
        "holdout_share",
        r"holdout_share must be below 1",
        "holdout_share 必须小于 1",
        "holdout_share must be below 1",
    ),
    # keys, references and scope (rapport.ingest.importer)
    Reason(
        "duplicate_earlier",
        r"duplicate (?P<key>.+): it appears in an earlier row",
        "{key} 重复：与前面某行相同",
        "duplicate {key}: it appears in an earlier row",
    ),
    Reason(
        "duplicate",
        r"duplicate (?P<key>.+): same as row(?: (?P<row>\d+))?",
        "{key} 重复：与[第 {row} ]行相同",
        "duplicate {key}: same as row[ {row}]",
    ),
    Reason(
        "unknown_reference",
        r"no (?P<table>\w+) row with (?P<key>\w+)(?P<value> '.*')?",
        "{table}中没有{key}[为{value}]的记录",
        "no {table} row with {key}{value}",
    ),
    Reason(
        "outside_scope",
        r"(?P<key>.+?)(?P<value> '.*')? is used by a record outside your scope",
        "{key}{value} 已被您权限范围之外的记录使用",
        "{key}{value} is used by a record outside your scope",
    ),
    # rows a reader could not split into values (rapport.ingest.readers, csv_reader)
    Reason(
        "field_count",
        r"row has (?P<found>\d+) fields, the header has (?P<expected>\d+)",
        "该行有 {found} 个字段，表头有 {expected} 个",
        "row has {found} fields, the header has {expected}",
    ),
    Reason(
        "unclosed_quote",
        r"a quoted value is not closed before the end of the file"
        r"(?P<why> \(an unbalanced quote\))?",
        "引号直到文件结尾都未闭合",
        "a quoted value is not closed before the end of the file{why}",
    ),
    Reason(
        "undecodable",
        r"bytes that are not (?P<encoding>[\w-]+) text in column (?P<column>'.*')",
        "列 {column} 中有不是 {encoding} 编码文本的字节",
        "bytes that are not {encoding} text in column {column}",
    ),
    Reason(
        "undecodable_line",
        r"bytes that are not (?P<encoding>[\w-]+) text at character (?P<position>\d+)",
        "第 {position} 个字符处有不是 {encoding} 编码文本的字节",
        "bytes that are not {encoding} text at character {position}",
    ),
    Reason(
        "nul_in_column",
        r"NUL character in column (?P<column>'.*'): text must not contain NUL characters",
        "列 {column} 含 NUL 字符：文本不能含 NUL 字符",
        "NUL character in column {column}: text must not contain NUL characters",
    ),
    Reason(
        "not_json_object",
        r"invalid JSON: not a JSON object",
        "无效的 JSON：不是 JSON 对象",
        "invalid JSON: not a JSON object",
    ),
    Reason(
        "invalid_json_line",
        r"invalid JSON: (?P<detail>.*)",
        "无效的 JSON",
        "invalid JSON: {detail}",
    ),
    Reason(
        "unpaired_surrogate",
        r"an unpaired surrogate \(\\ud800-\\udfff\): text must be valid Unicode",
        "有不成对的代理字符（\\ud800-\\udfff）：文本必须是有效的 Unicode",
        "an unpaired surrogate (\\ud800-\\udfff): text must be valid Unicode",
    ),
    Reason(
        "unknown_fields",
        r"fields (?P<fields>\[.*\]) not in the first lines' columns",
        "字段 {fields} 不在前几行的列中",
        "fields {fields} not in the first lines' columns",
    ),
)

_BY_CODE = {r.code: r for r in REASONS}


def match(problem: str) -> tuple[Reason, dict[str, str]] | None:
    """The kind of one problem and the parts its text names, or ``None`` if unknown."""
    for reason in REASONS:
        found = reason.regex.fullmatch(problem)
        if found:
            return reason, {k: v or "" for k, v in found.groupdict().items()}
    return None


#: An optional segment of a template, ``[…]``: shown only when every field in it has a value
#: (the import report's summary leaves values out).
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def _names(template: str) -> set[str]:
    plain = _OPTIONAL.sub(lambda m: m[1], template)
    return {name for _, name, _, _ in string.Formatter().parse(plain) if name}


def _fill(template: str, parts: dict[str, str]) -> str:
    def segment(m: re.Match[str]) -> str:
        return m[1] if all(parts.get(name) for name in _names(m[1])) else ""

    text = _OPTIONAL.sub(segment, template)
    return text.format(**{name: parts.get(name, "") for name in _names(text)})


def message(problem: str, locale: str = "zh_CN") -> str:
    """One problem for people in ``locale``; an unknown one as it was written."""
    cut = problem.endswith(CUT_NOTE)
    core = problem.removesuffix(CUT_NOTE) if cut else problem
    found = match(core)
    if found is None:
        return problem
    reason, parts = found
    zh = is_chinese(locale)
    if zh:
        from rapport.i18n.labels import t

        value = parts.get("value", "")
        if value.startswith(": ") or value == ":":
            parts["value"] = "：" + value[2:] if value != ":" else ""
        if parts.get("table"):
            parts["table"] = t(parts["table"], locale)
    text = _fill(reason.zh if zh else reason.en, parts)
    return text + ((_CUT_NOTE_ZH if zh else CUT_NOTE) if cut else "")


def code(problem: str) -> str:
    """The stable code of one problem (:data:`OTHER` if no pattern knows it)."""
    found = match(problem.removesuffix(CUT_NOTE))
    return OTHER if found is None else found[0].code


def split_reason(reason: str) -> list[tuple[str | None, str]]:
    """A ``_reason`` as ``(column, problem)`` pairs; the column is ``None`` when the reason
    is one problem of the row as a whole (a duplicate key, an unreadable line).

    Problems are joined with ``"; "`` and a problem may hold ``"; "`` itself (an unknown
    enumeration value lists the accepted ones after one): pieces are joined again until
    they make a problem a pattern knows.
    """
    if match(reason.removesuffix(CUT_NOTE)) is not None:
        return [(None, reason)]
    pieces = reason.split("; ")
    out: list[tuple[str | None, str]] = []
    i = 0
    while i < len(pieces):
        for j in range(i + 1, len(pieces) + 1):
            column, sep, problem = "; ".join(pieces[i:j]).partition(": ")
            if sep and match(problem.removesuffix(CUT_NOTE)) is not None:
                out.append((column, problem))
                i = j
                break
        else:
            column, sep, problem = pieces[i].partition(": ")
            out.append((column, problem) if sep else (None, pieces[i]))
            i += 1
    return out


def reason_codes(reason: str) -> str:
    """The codes of a ``_reason``, in the same shape: ``"金额: min; 电话: not_phone"``."""
    return "; ".join(
        code(problem) if column is None else f"{column}: {code(problem)}"
        for column, problem in split_reason(reason)
    )


def localize_reason(reason: str, locale: str = "zh_CN") -> str:
    """A ``_reason`` for people in ``locale``: each problem after its column."""
    zh = is_chinese(locale)
    parts = [
        message(problem, locale)
        if column is None
        else f"{column}{'：' if zh else ': '}{message(problem, locale)}"
        for column, problem in split_reason(reason)
    ]
    return ("；" if zh else "; ").join(parts)


def reason_by_code(code: str) -> Reason:
    """The :class:`Reason` of a code."""
    return _BY_CODE[code]


__all__ = [
    "CUT_NOTE",
    "OTHER",
    "REASONS",
    "Reason",
    "code",
    "localize_reason",
    "match",
    "message",
    "reason_by_code",
    "reason_codes",
    "split_reason",
]
