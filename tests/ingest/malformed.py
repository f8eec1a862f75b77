"""A seeded generator of malformed import files, for the import fuzz tests.

:func:`generate` draws ``count`` files from a seed: mostly customers and orders (and a few
products, events, interactions and tickets), as CSV in several encodings, delimiters and
line ends, XLSX, JSON Lines and Parquet, each spoiled by one to three *mutations* —
truncation (in a line, in a quoted value, in a multi-byte character), unbalanced and stray
quotes, mixed delimiters, NUL characters (raw and escaped in JSON), huge fields, invalid
bytes, binary garbage, wrong, duplicate, missing and very many columns, header-only and
empty files, BOMs, UTF-16 without BOM, UTF-32, empty lines, CR and CRLF line ends, an
XLSX named ``.csv``, a CSV named ``.xlsx``, zip and gzip archives. Case ``i`` of a seed
is the same whatever ``count``.

Run ``python -m tests.ingest.malformed SEED DIR`` to write the files of a seed to DIR.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Customers that the fuzz store holds before the first file (orders and events refer to them).
SEEDED_CUSTOMERS = [f"C{n:04d}" for n in range(1, 41)]

ENTITY_WEIGHTS = {
    "customers": 44,
    "orders": 34,
    "products": 6,
    "events": 6,
    "interactions": 5,
    "tickets": 5,
}

NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈静", "欧阳娜娜", "Ann Lee", "O'Brien", "José Núñez",
         "Zoë, Ltd", 'Say "hi"', "𠀀𠀁 (ext. B)", "ﾊﾝｶｸ", "Ｆｕｌｌ　Ｗｉｄｔｈ"]  # fmt: skip
CITIES = ["深圳", "北京", "上海", "广州", "Hong Kong", "Zürich", "杭州市西湖区"]
CHANNELS = ["天猫", "京东", "app", "wechat", "门店", "抖音"]


@dataclass
class Case:
    """One generated file: where it goes, what it is meant to test."""

    index: int
    entity: str
    filename: str
    data: bytes
    mutations: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.index:03d}-{self.entity}-{Path(self.filename).suffix[1:]}-" + "+".join(
            self.mutations or ["plain"]
        )

    def write(self, directory: Path) -> Path:
        path = directory / self.filename
        path.write_bytes(self.data)
        return path


# --- well-formed tables ------------------------------------------------------------------


def _customer_id(rng: random.Random) -> str:
    return f"C{rng.randint(1, 400):04d}"


def _time(rng: random.Random) -> str:
    d, h = rng.randint(1, 28), rng.randint(0, 23)
    return rng.choice(
        [
            f"2024-03-{d:02d} {h:02d}:15",
            f"2024年3月{d}日 {h}:30",
            f"2024/3/{d}",
            f"2024-03-{d:02d}T{h:02d}:00:00+08:00",
            "45356",
        ]
    )


Column = tuple[list[str], Callable[[random.Random], str]]

COLUMNS: dict[str, dict[str, Column]] = {
    "customers": {
        "external_id": (["external_id", "客户编号", "会员号", "Customer ID"], _customer_id),
        "name": (["name", "姓名"], lambda r: r.choice(NAMES)),
        "phone": (
            ["phone", "手机号"],
            lambda r: r.choice([f"138{r.randint(0, 99999999):08d}", "+86 139-0000-1111", "12345"]),
        ),
        "email": (
            ["email", "邮箱"],
            lambda r: r.choice(
                [f"u{r.randint(1, 999)}@example.cn", "ZHANG.WEI@Example.COM", "abc@"]
            ),
        ),
        "city": (["city", "城市"], lambda r: r.choice(CITIES)),
        "gender": (["gender", "性别"], lambda r: r.choice(["男", "女", "female", "male", "", "?"])),
        "birthday": (
            ["birthday", "生日"],
            lambda r: r.choice(["1990年5月1日", "1988/12/31", "", "2199-01-01", "19850704"]),
        ),
        "tags": (["tags", "标签"], lambda r: r.choice(["vip,新客", "高价值", "", '["a","b"]'])),
        "social_handles": (
            ["social_handles"],
            lambda r: r.choice(['{"weibo": "@x"}', "", '{"b":1,"a":[1,2]}', "{not json"]),
        ),
        "created_at": (["created_at", "注册时间"], _time),
    },
    "orders": {
        "external_id": (["external_id", "订单号", "order id"], lambda r: f"SO-{r.randint(1, 600)}"),
        "customer_external_id": (
            ["customer_external_id", "客户编号", "会员号"],
            lambda r: r.choice(SEEDED_CUSTOMERS) if r.random() < 0.9 else "C9999",
        ),
        "status": (
            ["status", "订单状态"],
            lambda r: r.choice(["已完成", "completed", "已退款", "cancelled", "交易成功", "??"]),
        ),
        "ordered_at": (["ordered_at", "下单时间"], _time),
        "net_amount": (
            ["net_amount", "实付金额"],
            lambda r: r.choice(["¥1,280.00元", "99", "￥２５６．５０", "-5.00", "1.2万", "abc"]),
        ),
        "currency": (["currency", "币种"], lambda r: r.choice(["CNY", "CNY", "USD", ""])),
        "channel": (["channel", "渠道"], lambda r: r.choice(CHANNELS)),
    },
    "products": {
        "sku": (["sku", "商品编码"], lambda r: f"P-{r.randint(1, 80)}"),
        "name": (["name", "商品名称"], lambda r: r.choice(["茶叶", "Tea set", "礼盒, 大号"])),
        "price": (["price", "价格"], lambda r: r.choice(["12.50", "¥99", "-1", ""])),
        "currency": (["currency", "币种"], lambda r: "CNY"),
        "category": (["category", "类目"], lambda r: r.choice(["茶", "器具", ""])),
    },
    "events": {
        "customer_external_id": (
            ["customer_external_id", "客户编号"],
            lambda r: r.choice(SEEDED_CUSTOMERS),
        ),
        "kind": (["kind", "事件类型"], lambda r: r.choice(["page_view", "login", "search", "飞"])),
        "occurred_at": (["occurred_at", "发生时间"], _time),
        "session_id": (["session_id"], lambda r: f"s{r.randint(1, 50)}"),
        "properties": (["properties", "属性"], lambda r: r.choice(['{"q": "茶"}', "", "[1,2]"])),
    },
    "interactions": {
        "customer_external_id": (
            ["customer_external_id", "客户编号"],
            lambda r: r.choice(SEEDED_CUSTOMERS),
        ),
        "channel": (["channel", "沟通方式"], lambda r: r.choice(["phone", "email", "chat", "x"])),
        "direction": (["direction", "方向"], lambda r: r.choice(["inbound", "outbound"])),
        "occurred_at": (["occurred_at", "时间"], _time),
        "summary": (["summary", "内容"], lambda r: r.choice(["回访", "投诉处理\n已解决", "ok"])),
    },
    "tickets": {
        "external_id": (["external_id", "工单号"], lambda r: f"T-{r.randint(1, 99)}"),
        "customer_external_id": (
            ["customer_external_id", "客户编号"],
            lambda r: r.choice(SEEDED_CUSTOMERS),
        ),
        "kind": (["kind"], lambda r: r.choice(["complaint", "inquiry", "praise"])),
        "priority": (["priority", "优先级"], lambda r: r.choice(["low", "normal", "high"])),
        "status": (["status"], lambda r: r.choice(["open", "resolved", "closed"])),
        "opened_at": (["opened_at", "创建时间"], _time),
        "subject": (["subject", "主题"], lambda r: r.choice(["退货", "发票", "Where is it?"])),
    },
}

#: The fields every file of an entity has (before a mutation takes one away).
REQUIRED = {
    "customers": ["external_id"],
    "orders": ["external_id", "customer_external_id", "status", "ordered_at", "net_amount",
               "currency"],
    "products": ["sku", "name", "currency"],
    "events": ["customer_external_id", "kind", "occurred_at"],
    "interactions": ["customer_external_id", "channel", "direction", "occurred_at"],
    "tickets": ["external_id", "customer_external_id", "kind", "priority", "status",
                "opened_at"],
}  # fmt: skip


def _table(rng: random.Random, entity: str) -> tuple[list[str], list[list[str]]]:
    columns = COLUMNS[entity]
    optional = [f for f in columns if f not in REQUIRED[entity]]
    fields = REQUIRED[entity] + rng.sample(optional, rng.randint(0, len(optional)))
    rng.shuffle(fields)
    header = [rng.choice(columns[f][0]) for f in fields]
    if rng.random() < 0.3:
        header.append(rng.choice(["会员等级", "备注 extra", "Unknown Col"]))
    width = len(header)
    rows = []
    for _ in range(rng.randint(1, 25)):
        row = [columns[f][1](rng) for f in fields]
        row += [rng.choice(["金卡", "", "x"]) for _ in range(width - len(fields))]
        rows.append(row)
    return header, rows


# --- mutations of the table --------------------------------------------------------------

Table = tuple[list[str], list[list[str]]]


def _cell(rng: random.Random, rows: list[list[str]]) -> tuple[int, int]:
    r = rng.randrange(len(rows))
    return r, rng.randrange(len(rows[r]))


def _put(rng: random.Random, table: Table, make: Callable[[str], str]) -> Table:
    header, rows = table
    if rows and rows[0]:
        for _ in range(rng.randint(1, 3)):
            r, c = _cell(rng, rows)
            rows[r][c] = make(rows[r][c])
    return header, rows


def m_nul(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: v[: len(v) // 2] + "\x00" + v[len(v) // 2 :])


def m_nul_key(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    for row in rows[: rng.randint(1, len(rows))]:
        row[0] = row[0] + "\x00"
    return header, rows


def m_json_nul(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: '{"k": "a\\u0000b"}')


JSON_HEADERS = {"social_handles", "properties", "属性", "tags", "标签"}


def m_json_odd(rng: random.Random, t: Table) -> Table:
    """JSON that no store keeps: surrogates, NUL, NaN, 1e400, deep nesting (in JSON fields)."""
    header, rows = t
    odd = ['{"k": "\\ud800"}', '["\\udc00"]', '{"n": NaN}', '{"n": 1e400}', '["a\\u0000"]',
           "[" * 5000 + "]" * 5000, "[]"]  # fmt: skip
    columns = [i for i, h in enumerate(header) if h in JSON_HEADERS] or range(len(header))
    for row in rows:
        if rng.random() < 0.5:
            c = rng.choice(list(columns))
            if c < len(row):
                row[c] = rng.choice(odd)
    return header, rows


def m_control(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: v + rng.choice(["\x01", "\x0b", "\x1b[31m", "\x7f", "\u2028"]))


def m_huge(rng: random.Random, t: Table) -> Table:
    size = rng.choice([70_000, 300_000, 1_200_000])
    return _put(rng, t, lambda v: rng.choice(["x", "长", "a,b\n"]) * (size // 4))


def m_formula(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: rng.choice(["=1+1", "+8613800000000", "-5", "@SUM(A1)", "'=x"]))


def m_fullwidth(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: v.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}))


def m_whitespace(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: rng.choice(["  ", "\u3000", "\t"]) + v + rng.choice([" ", ""]))


def m_multiline(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: v + rng.choice(["\n第二行", "\r\nsecond", '\n"quoted"\n']))


def m_bom_in_value(rng: random.Random, t: Table) -> Table:
    return _put(rng, t, lambda v: "\ufeff" + v)


def m_long_key(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    rows[0][0] = "K" * rng.choice([65, 300, 5000])
    return header, rows


def m_dup_keys(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    return header, rows + [list(rng.choice(rows)) for _ in range(rng.randint(1, 3))]


def m_empty_marker_rows(rng: random.Random, t: Table) -> Table:
    header, rows = t
    rows.insert(rng.randrange(len(rows) + 1), [""] * len(header))
    rows.insert(rng.randrange(len(rows) + 1), ["-"] * len(header))
    return header, rows


def m_ragged(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    for _ in range(rng.randint(1, 3)):
        r = rng.randrange(len(rows))
        rows[r] = rows[r][:-1] if rng.random() < 0.5 and len(rows[r]) > 1 else rows[r] + ["多余"]
    return header, rows


def m_dup_column(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    c = rng.randrange(len(header))
    return [*header, header[c]], [[*row, row[c]] for row in rows]


def m_synonym_clash(rng: random.Random, t: Table) -> Table:
    header, rows = t
    extra = {"external_id": "id", "customer_external_id": "会员编号", "name": "名称"}
    return [*header, rng.choice(list(extra.values()))], [[*row, "X1"] for row in rows]


def m_missing_required(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    c = rng.randrange(len(header))
    return header[:c] + header[c + 1 :], [row[:c] + row[c + 1 :] for row in rows]


def m_wrong_header(rng: random.Random, t: Table) -> Table:
    header, rows = t
    return [f"col{i}" if rng.random() < 0.7 else h for i, h in enumerate(header)], rows


def m_blank_header(rng: random.Random, t: Table) -> Table:
    if not t[1] or not t[1][0]:
        return t
    header, rows = t
    header[rng.randrange(len(header))] = rng.choice(["", "  "])
    return header, rows


def m_many_columns(rng: random.Random, t: Table) -> Table:
    header, rows = t
    n = rng.choice([300, 300, 1200])
    return header + [f"extra_{i}" for i in range(n)], [
        row + [str(i % 7) if i % 3 else "" for i in range(n)] for row in rows
    ]


def m_header_only(rng: random.Random, t: Table) -> Table:
    return t[0], []


TABLE_MUTATIONS: dict[str, Callable[[random.Random, Table], Table]] = {
    "nul": m_nul,
    "nul_key": m_nul_key,
    "json_nul": m_json_nul,
    "json_odd": m_json_odd,
    "control": m_control,
    "huge": m_huge,
    "formula": m_formula,
    "fullwidth": m_fullwidth,
    "whitespace": m_whitespace,
    "multiline": m_multiline,
    "bom_in_value": m_bom_in_value,
    "long_key": m_long_key,
    "dup_keys": m_dup_keys,
    "empty_rows": m_empty_marker_rows,
    "ragged": m_ragged,
    "dup_column": m_dup_column,
    "synonym_clash": m_synonym_clash,
    "missing_column": m_missing_required,
    "wrong_header": m_wrong_header,
    "blank_header": m_blank_header,
    "many_columns": m_many_columns,
    "header_only": m_header_only,
}

#: Mutations that make sense for a file format (CSV takes them all, and the byte ones).
FORMAT_TABLE_MUTATIONS = {
    "xlsx": ["nul", "control", "formula", "fullwidth", "whitespace", "multiline", "long_key",
             "dup_keys", "empty_rows", "dup_column", "missing_column", "wrong_header",
             "blank_header", "header_only", "huge", "many_columns", "synonym_clash",
             "bom_in_value"],
    "jsonl": ["nul", "nul_key", "json_nul", "json_odd", "control", "formula", "fullwidth",
              "multiline", "long_key", "dup_keys", "empty_rows", "missing_column",
              "wrong_header", "huge", "bom_in_value", "synonym_clash"],
    "parquet": ["nul", "nul_key", "control", "formula", "long_key", "dup_keys", "empty_rows",
                "missing_column", "wrong_header", "dup_column", "blank_header", "header_only",
                "huge", "synonym_clash"],
}  # fmt: skip


# --- rendering ---------------------------------------------------------------------------

ENCODINGS = ["utf-8"] * 5 + ["utf-8-sig", "gb18030", "gb18030", "utf-16", "utf-16-le",
                             "utf-16-be"]  # fmt: skip


@dataclass
class CsvStyle:
    encoding: str = "utf-8"
    delimiter: str = ","
    line_end: str = "\r\n"
    quoting: int = csv.QUOTE_MINIMAL


def render_csv(table: Table, style: CsvStyle) -> bytes:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=style.delimiter, lineterminator=style.line_end, quoting=style.quoting
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(style.encoding, "surrogatepass")


def render_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    for row in [table[0], *table[1]]:
        # control characters as Excel writes them (_x001B_), which readers decode
        escaped = [ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m[0]):04X}_", v) for v in row]
        sheet.append([v[:32000] or None for v in escaped])
    out = io.BytesIO()
    workbook.save(out)
    return _fixed_zip_times(out.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The workbook with fixed times (openpyxl stamps the time of saving): same bytes each run."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", content
                )
            target.writestr(zipfile.ZipInfo(info.filename, (2024, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def render_jsonl(table: Table, rng: random.Random) -> bytes:
    header, rows = table
    lines = []
    for row in rows:
        record: dict[str, object] = dict(zip(header, row, strict=False))
        if rng.random() < 0.2:
            key = rng.choice(header)
            record[key] = rng.choice([12, 3.5, True, None, ["a", 1], {"x": {"y": "z"}}])
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.3))
    if not lines:
        lines.append(json.dumps(dict.fromkeys(header)))
    return ("\n".join(lines) + rng.choice(["\n", "", "\r\n"])).encode("utf-8")


def render_parquet(table: Table, rng: random.Random) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = table
    columns = {}
    for i, name in enumerate(header):
        columns[name] = pa.array([row[i] if i < len(row) else None for row in rows], pa.string())
    if rng.random() < 0.5:
        kind = rng.choice(["int", "list", "struct", "binary", "dict", "float"])
        n = len(rows)
        columns["typed_" + kind] = {
            "int": lambda: pa.array(range(n), pa.int64()),
            "float": lambda: pa.array([1.5 * i for i in range(n)], pa.float64()),
            "list": lambda: pa.array([[i, i + 1] for i in range(n)], pa.list_(pa.int64())),
            "struct": lambda: pa.array([{"a": str(i)} for i in range(n)]),
            "binary": lambda: pa.array(
                [b"ok" if i % 3 else b"\xff\xfe" for i in range(n)], pa.binary()
            ),
            "dict": lambda: pa.array(["a", "b"] * n, pa.string()).dictionary_encode()[:n],
        }[kind]()
    out = io.BytesIO()
    if len(set(columns)) < len(header):
        # duplicate names: pyarrow writes them when given arrays and names
        arrays = [columns[h] if h in columns else pa.nulls(len(rows)) for h in header]
        pq.write_table(pa.Table.from_arrays(arrays, names=header), out)
    else:
        pq.write_table(pa.table(columns), out)
    return out.getvalue()


# --- mutations of the bytes (CSV) --------------------------------------------------------


def _line_starts(data: bytes) -> list[int]:
    return [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]


def b_truncate(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    return data[: rng.randint(1, max(1, len(data) - 1))]


def b_truncate_in_character(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding.startswith("utf-16"):
        return data[: rng.randrange(1, max(2, len(data)), 2)]
    try:
        text = data.decode(style.encoding)
    except UnicodeDecodeError:  # an earlier mutation broke it already
        return b_truncate(rng, data, style)
    wide = [i for i, ch in enumerate(text) if len(ch.encode(style.encoding)) > 1]
    if not wide:
        return b_truncate(rng, data, style)
    i = rng.choice(wide[len(wide) // 2 :])
    cut = len(text[:i].encode(style.encoding)) + 1
    return data[:cut]


def b_unbalanced_quote(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding != "utf-8":
        return data
    starts = _line_starts(data)
    at = rng.choice(starts[1:] or starts)
    delim = data.find(style.delimiter.encode(), at)
    at = delim + 1 if delim != -1 and rng.random() < 0.6 else at
    return data[:at] + b'"' + data[at:]


def b_stray_quote(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding != "utf-8":
        return data
    at = rng.randrange(len(data))
    return data[:at] + b'5"3' + data[at:]


def b_mixed_delimiters(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding != "utf-8":
        return data
    other = rng.choice([b";", b"\t", b"|", b","])
    lines = data.split(b"\n")
    for i in rng.sample(range(len(lines)), k=max(1, len(lines) // 3)):
        lines[i] = lines[i].replace(style.delimiter.encode(), other)
    return b"\n".join(lines)


def b_mixed_line_ends(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding != "utf-8":
        return data
    parts = data.replace(b"\r\n", b"\n").split(b"\n")
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice([b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n"]) + part
    return out


def b_no_final_newline(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    return data.rstrip(b"\r\n\x00")


def b_invalid_bytes(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding.startswith("utf-16"):
        return data
    starts = _line_starts(data)
    at = rng.randrange(starts[1] if len(starts) > 1 else 0, len(data))
    return data[:at] + bytes(rng.choice([[0xFF], [0xC3], [0xE4, 0xB8], [0x80, 0x80]])) + data[at:]


def b_binary_tail(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    return data + rng.randbytes(rng.randint(1, 300))


def b_other_encoding_chunk(rng: random.Random, data: bytes, style: CsvStyle) -> bytes:
    if style.encoding not in ("utf-8", "gb18030"):
        return data
    other = "gb18030" if style.encoding == "utf-8" else "utf-8"
    return data + "C0999,混合编码的行,深圳\n".encode(other)


BYTE_MUTATIONS: dict[str, Callable[[random.Random, bytes, CsvStyle], bytes]] = {
    "truncate": b_truncate,
    "truncate_in_character": b_truncate_in_character,
    "unbalanced_quote": b_unbalanced_quote,
    "stray_quote": b_stray_quote,
    "mixed_delimiters": b_mixed_delimiters,
    "mixed_line_ends": b_mixed_line_ends,
    "no_final_newline": b_no_final_newline,
    "invalid_bytes": b_invalid_bytes,
    "binary_tail": b_binary_tail,
    "mixed_encodings": b_other_encoding_chunk,
}


# --- whole-file oddities -----------------------------------------------------------------


def _special(rng: random.Random, entity: str, kind: str) -> tuple[str, bytes]:
    table = _table(rng, entity)
    header_line = ",".join(table[0])
    if kind == "xlsx_named_csv":
        return "data.csv", render_xlsx(table)
    if kind == "csv_named_xlsx":
        return "data.xlsx", render_csv(table, CsvStyle())
    if kind == "truncated_xlsx":
        data = render_xlsx(table)
        return "data.xlsx", data[: rng.randint(10, len(data) - 1)]
    if kind == "truncated_parquet":
        data = render_parquet(table, rng)
        return "data.parquet", data[: rng.randint(4, len(data) - 1)]
    if kind == "parquet_named_csv":
        return "data.csv", render_parquet(table, rng)
    if kind == "binary":
        return rng.choice(["data.csv", "data.tsv", "data.txt"]), rng.randbytes(rng.randint(1, 4000))
    if kind == "binary_after_header":
        return "data.csv", (header_line + "\n").encode() + rng.randbytes(rng.randint(1, 3000))
    if kind == "empty_like":
        data = rng.choice([b"\xef\xbb\xbf", b"\n\n\n", b"   ", b"\r\n", b"\x00", b"\xff\xfe", b","])
        return "data.csv", data
    if kind == "header_only_no_newline":
        style = CsvStyle(encoding=rng.choice(ENCODINGS))
        return "data.csv", header_line.encode(style.encoding)
    if kind == "header_only_bom":
        return "data.csv", b"\xef\xbb\xbf" + header_line.encode() + rng.choice([b"", b"\r\n"])
    if kind == "jsonl_bad_lines":
        lines = render_jsonl(table, rng).split(b"\n")
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"[1,2]", b"{bad", b"null"]))
        lines.insert(rng.randrange(len(lines) + 1), b'{"' + rng.randbytes(5) + b'": 1}')
        lines.insert(rng.randrange(len(lines) + 1), b'{"x": "' + b"[" * 3000 + b'"}')
        return "data.jsonl", b"\n".join(lines)
    if kind == "jsonl_cut":
        data = render_jsonl(table, rng)
        return "data.jsonl", data[: rng.randint(1, len(data))]
    if kind == "jsonl_surrogates":
        header, rows = table
        record = {
            h: (r if i else r + "\\ud800")
            for i, (h, r) in enumerate(zip(header, rows[0], strict=False))
        }
        good = json.dumps(dict(zip(header, rows[-1], strict=False)))
        bad = json.dumps(record).replace("\\\\ud800", "\\ud800")
        return "data.jsonl", (good + "\n" + bad + "\n").encode()
    if kind == "jsonl_deep":
        deep = "[" * 100_000 + "]" * 100_000
        return "data.jsonl", json.dumps(dict(zip(table[0], table[1][0], strict=False))).encode() + (
            b'\n{"' + table[0][0].encode() + b'": ' + deep.encode() + b"}\n"
        )
    if kind == "zip_not_xlsx":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("data.csv", render_csv(table, CsvStyle()))
        return rng.choice(["data.csv", "data.xlsx"]), out.getvalue()
    if kind == "gzip_csv":
        return "data.csv", gzip.compress(render_csv(table, CsvStyle()), mtime=0)
    if kind == "utf32":
        return "data.csv", render_csv(table, CsvStyle(encoding=rng.choice(["utf-32", "utf-32-le"])))
    if kind == "nul_in_header":
        header, rows = table
        header[rng.randrange(len(header))] += "\x00"
        return "data.csv", render_csv((header, rows), CsvStyle())
    if kind == "long_first_line":
        return "data.csv", b"x" * (1 << 20) + b",y\n" + render_csv(table, CsvStyle())
    raise ValueError(kind)


SPECIALS = ["xlsx_named_csv", "csv_named_xlsx", "truncated_xlsx", "truncated_parquet",
            "parquet_named_csv", "binary", "binary_after_header", "empty_like",
            "header_only_no_newline", "header_only_bom", "jsonl_bad_lines", "jsonl_cut",
            "jsonl_surrogates", "jsonl_deep", "zip_not_xlsx", "gzip_csv", "utf32",
            "nul_in_header", "long_first_line"]  # fmt: skip


# --- the generator -----------------------------------------------------------------------


def make_case(seed: int, index: int) -> Case:
    """Case ``index`` of ``seed`` (independent of the other cases)."""
    rng = random.Random(f"rapport-malformed-{seed}-{index}")
    entity = rng.choices(list(ENTITY_WEIGHTS), weights=list(ENTITY_WEIGHTS.values()))[0]
    roll = rng.random()
    if index < len(SPECIALS) or roll < 0.08:  # each whole-file oddity at least once
        kind = SPECIALS[index] if index < len(SPECIALS) else rng.choice(SPECIALS)
        filename, data = _special(rng, entity, kind)
        return Case(index, entity, filename, data, [kind])
    fmt = "csv" if roll < 0.75 else rng.choice(["xlsx", "jsonl", "jsonl", "parquet"])
    table = _table(rng, entity)
    names = list(TABLE_MUTATIONS) if fmt == "csv" else FORMAT_TABLE_MUTATIONS[fmt]
    byte_names = list(BYTE_MUTATIONS) if fmt == "csv" else []
    chosen: list[str] = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        pool = names + byte_names * 2 if fmt == "csv" else names
        name = rng.choice(pool)
        if name not in chosen:
            chosen.append(name)
    for name in chosen:
        if name in TABLE_MUTATIONS:
            table = TABLE_MUTATIONS[name](rng, table)
    if fmt == "xlsx":
        return Case(index, entity, "data.xlsx", render_xlsx(table), chosen)
    if fmt == "jsonl":
        return Case(index, entity, "data.jsonl", render_jsonl(table, rng), chosen)
    if fmt == "parquet":
        return Case(index, entity, "data.parquet", render_parquet(table, rng), chosen)
    style = CsvStyle(
        encoding=rng.choice(ENCODINGS),
        delimiter=rng.choice([",", ",", ",", "\t", ";", "|"]),
        line_end=rng.choice(["\r\n", "\n", "\n", "\r"]),
        quoting=rng.choice([csv.QUOTE_MINIMAL] * 3 + [csv.QUOTE_ALL]),
    )
    data = render_csv(table, style)
    for name in chosen:
        if name in BYTE_MUTATIONS:
            data = BYTE_MUTATIONS[name](rng, data, style)
    if style.encoding != "utf-8":
        chosen.append(style.encoding)
    suffix = ".tsv" if style.delimiter == "\t" and rng.random() < 0.5 else ".csv"
    return Case(index, entity, "data" + suffix, data, chosen)


def generate(seed: int, count: int) -> list[Case]:
    """``count`` malformed files drawn from ``seed``."""
    return [make_case(seed, i) for i in range(count)]


if __name__ == "__main__":  # pragma: no cover - a helper to look at the files
    seed, target = int(sys.argv[1]), Path(sys.argv[2])
    for case in generate(seed, int(sys.argv[3]) if len(sys.argv) > 3 else 240):
        directory = target / case.name
        directory.mkdir(parents=True, exist_ok=True)
        case.write(directory)
