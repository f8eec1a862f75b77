"""Domain error messages in Chinese, keyed as the errors name them.

A :class:`~rapport.errors.RapportError` raised with ``key="store_missing"`` and
``params={"where": …}`` carries its English message (the API's ``message``) filled from the
template at the raise site; :data:`MESSAGES` holds the Chinese template of the same key,
with the same placeholders, and of its hint (``key + ".hint"`` or the error's ``hint_key``).
:func:`error_text` is what the CLI prints. A test walks the source: every key raised is
here with the placeholders of its English template, and every key here is raised.
"""

from __future__ import annotations

from typing import Any

from rapport.errors import RapportError
from rapport.i18n.locale import is_chinese

MESSAGES: dict[str, str] = {
    # the store (errors.StoreUnavailable, store/db.py)
    "store_missing": "找不到数据库 {where}",
    "store_not_initialised": "数据库 {where} 尚未初始化",
    "store_init": "运行 `rapport init` 创建数据库，或运行 `rapport demo` 生成样例公司",
    "store_unsupported": "不支持的数据库 {backend!r}",
    "store_unsupported.hint": "请使用 sqlite:///path.db 或 postgresql+psycopg://user@host/db",
    "store_cannot_open": "无法打开数据库：{reason}",
    "store_check_url": "检查数据库地址，并确认数据库服务已启动",
    "store_outdated": "数据库 {where} 的结构版本是 {current}，而不是 {head}",
    "store_outdated.hint": "运行 `rapport init` 迁移数据库",
    # settings (config.py)
    "secret_key_default": "RAPPORT_SECRET_KEY 仍是默认值，{environment} 环境下不允许",
    "secret_key_short": "RAPPORT_SECRET_KEY 短于 {length} 个字符，{environment} 环境下不允许",
    "secret_key.hint": (
        "把 RAPPORT_SECRET_KEY 设为随机值，例如 "
        '`python -c "import secrets; print(secrets.token_urlsafe(48))"` 的输出'
    ),
    # analytics engines (analytics/connect.py)
    "duckdb_extension_missing": "未安装 DuckDB 的 {which} 扩展",
    "duckdb_extension_missing.hint": "`pip install {wheel}=={version}`",
    "duckdb_extension_version": "{package} 没有适用于 DuckDB {version} 的扩展",
    "duckdb_extension_version.hint": "把 {wheel} 固定为 DuckDB 的版本 {duckdb}",
    "duckdb_memory_limit": "DuckDB 不接受内存上限 {limit!r}：{reason}",
    "duckdb_memory_limit.hint": "请写成 4GB 或 512MiB 这样的大小",
    "duckdb_sqlite_memory": "DuckDB 无法挂载 SQLite 数据库 {path!r}",
    "duckdb_sqlite_memory.hint": "请使用 SQLite 文件：sqlite:///path/to/rapport.db",
    "duckdb_postgres_attach": "DuckDB 无法挂载 PostgreSQL 数据库：{reason}",
    "duckdb_attach_backend": "DuckDB 无法挂载 {backend} 数据库",
    "parquet_dir_unset": "parquet 和 spark 引擎需要 RAPPORT_PARQUET_DIR（存放各表的目录）",
    "parquet_dir_not_dir": "RAPPORT_PARQUET_DIR {directory} 不是目录",
    "parquet_dir_empty": "RAPPORT_PARQUET_DIR {directory} 中没有 Parquet 表",
    "parquet_dir.hint": "用 `rapport export --to DIR` 导出一个",
    "parquet_table_twice": "表 {table} 在 {directory} 中既是 {first} 又是 {second}",
    "parquet_table_twice.hint": "只保留其中一个",
    "spark_missing": "spark 引擎需要 pyspark",
    "spark_missing.hint": '`pip install "rapport[spark]"`',
    "spark_other_master": "本进程已在 {running} 上运行 Spark，而不是 {wanted}",
    "spark_other_master.hint": "每个进程只能用一个 Spark master",
    "spark_failed": "Spark 未能启动：{reason}",
    "spark_failed.hint": "spark 引擎需要 Java 17（JAVA_HOME）和 pyspark",
    "postgres_engine_store": "postgres 引擎需要 PostgreSQL 数据库",
    "postgres_engine_store.hint": "SQLite 数据库请使用 duckdb 引擎",
    "postgres_unreachable": "无法连接 PostgreSQL：{reason}",
    "engine_unknown": "未知的引擎 {engine!r}",
    "engine_unknown.hint": "可用：{engines}",
    # rapport export
    "export_unknown_tables": "未知的表 {tables}",
    "export_unknown_tables.hint": "可选：{known}",
    "export_not_dir": "{out} 已存在且不是目录",
    "export_not_dir.hint": "换一个 --to 目录",
    "export_shadowed": "{path} 是一个目录：导出会遮住它",
    "export_shadowed.hint": "删除它，或导出到其他目录",
    # rapport customer, rapport users
    "customer_not_found": "没有 ID 或客户编号为 {ref!r} 的客户",
    "customer_not_found_by_number": "没有客户编号为 {ref!r} 的客户",
    "customer_not_found.hint": "`rapport customer --external NUMBER` 只按客户编号查找",
    "users_password_options": "--no-password 与 --password-stdin 不能同时使用",
    "users_unlock_what": "请指定账号、地址（--address）或两者",
    "users_unlock_what.hint": "`rapport users unlock li.na`",
    # score snapshots (store/scores.py, cli/scores.py)
    "snapshot_none": "还没有评分快照",
    "score_first": "先运行 `rapport score`",
    "snapshot_not_on_day": "{day} 没有评分快照",
    "snapshot_not_on_day.hint": (
        "已有快照的日期：{dates}（共 {count} 个）；`rapport score --as-of {day}` 生成该日的快照"
    ),
    "snapshots_fewer_than_two": "评分快照少于两个",
    "snapshots_fewer_than_two.hint": "运行两次 `rapport score`（不同日期）",
    # options of the commands (cli/)
    "date_expected": "{option} {text!r}：需要 2024-12-31 这样的日期",
    "moment_expected": "{option} {text!r}：需要 2024-12-31 或 2024-12-31T09:30 这样的日期或时间",
    "until_before_since": "--until 必须晚于 --since",
    "option_value_unknown": "{option} 不接受 {value!r}",
    "option_value_unknown.hint": "可选：{choices}",
    "period_or_last": "--period 和 --last 只能给一个",
    "metrics_unknown": "未知的指标 {metrics}",
    "metrics_unknown.hint": "可用的指标编号：{ids}",
    # rapport demand
    "demand_horizon": "预测期数 {horizon}：需求预测只能向前 1 到 {maximum} 期",
    "demand_not_saved": "还没有保存需求预测模型",
    "demand_not_saved.hint": "用 `rapport models fit` 拟合（它会连同其他模型一起拟合需求模型）",
    # models (rapport models fit|show|backtest)
    "time_unit_unknown": "未知的时间单位 {unit!r}",
    "time_unit_unknown.hint": "可用：{units}",
    "duration_invalid": "不是时长：{text!r}",
    "duration_invalid.hint": "例如 90d、13w 或 12m",
    "model_kind_unknown": "未知的模型类型 {kind!r}",
    "model_kind_unknown.hint": "可用：{kinds}",
    "model_not_saved": "{root} 下没有已保存的 {kind} 模型",
    "model_not_saved.hint": "用 `rapport models fit` 拟合一个",
    "model_version_missing": "没有 {kind} 模型的版本 {version}",
    "model_version_missing.hint": "已保存的版本：{versions}",
    "purchase_model_few_buyers": (
        "{day} 之前只有 {repeat} 位复购客户；购买模型至少需要 {minimum} 位"
    ),
    "spend_model_few_buyers": (
        "有正消费额的复购客户只有 {repeat} 位；消费金额模型至少需要 {minimum} 位"
    ),
    "few_buyers.hint": "导入更多订单历史，或调低 [models] min_repeat_buyers",
    "demand_no_orders": "{day} 之前的完整周内没有订单",
    "demand_no_orders.hint": "导入带商品的订单",
    "clv_no_repeat": (
        "{model} 拒绝拟合：没有客户复购，似然函数没有最大值（购买率趋于 0 时一直增大）"
    ),
    "clv_no_repeat.hint": (
        "{customers} 位客户中有 {repeat} 位复购；{model} 模型需要足够的复购客户，frequency 只计"
        "复购次数，recency 和 T 的单位必须是 {unit}"
    ),
    "churn_few_rows": "训练数据只有 {rows} 行；流失模型至少需要 {minimum} 行",
    "churn_few_rows.hint": "用更早的截止日期或更长的活跃窗口，以得到更多客户",
    "churn_all_churned": "训练数据中的 {rows} 位客户全部流失：只有一个类别",
    "churn_none_churned": "训练数据中的 {rows} 位客户全都继续购买：只有一个类别",
    "churn_one_class.hint": "选择一个预测期落在数据之内的截止日期，或换一个预测期",
    "churn_rare_class": "较少的类别只有 {rows} 行训练数据；至少需要 {minimum} 行",
    "churn_rare_class.hint": "用更多客户训练，或选择流失不那么罕见的预测期",
    "churn_constant_features": "训练数据中没有任何特征有变化，无从学习",
    "churn_constant_features.hint": "用特征列有取值的表训练",
    "backtest_no_repeat_in_holdout": "没有复购客户在留出期内购买",
    "backtest_holdout_short": "留出期 {holdout} 太短，无法检验",
    "backtest_holdout_short.hint": "至少用几周，例如 26w",
    "backtest_part_unknown": "未知的回测模型：{part}",
    "backtest_part_unknown.hint": "可选其中若干：{parts}",
}


def _fill(key: str | None, params: dict[str, Any]) -> str | None:
    template = MESSAGES.get(key) if key else None
    if template is None:
        return None
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):  # a template out of step: the English stays
        return None


def error_text(error: RapportError, locale: str) -> str:
    """The error's message and hint (``message — hint``) in ``locale``: the Chinese templates
    of :data:`MESSAGES` under ``zh_CN``, the English the error was raised with otherwise
    (and for an error raised without a key)."""
    if not is_chinese(locale) or error.key is None:
        return str(error)
    message = _fill(error.key, error.params)
    if message is None:
        return str(error)
    if error.hint is None:
        return message
    hint = _fill(error.hint_key, error.params) or error.hint
    return f"{message} — {hint}"


def message_text(error: RapportError, locale: str) -> str:
    """The error's message alone (no hint) in ``locale``, as :func:`error_text`."""
    if is_chinese(locale) and error.key is not None:
        return _fill(error.key, error.params) or error.message
    return error.message
