"""Domain error messages in Chinese, keyed as the errors name them.

A :class:`~rapport.errors.RapportError` raised with ``key="store_missing"`` and
``params={"where": …}`` carries its English message (the API's ``message``) filled from the
template at the raise site; :data:`MESSAGES` holds the Chinese template of the same key,
with the same placeholders, and of its hint (``key + ".hint"`` or the error's ``hint_key``).
:func:`error_text` is what the CLI prints. A test walks the source: every key raised is
here with the placeholders of its English template, and every key here is raised.
"""

from __future__ import annotations

import re
from typing import Any

from rapport.errors import RapportError
from rapport.i18n.labels import LABELS, t
from rapport.i18n.locale import is_chinese

MESSAGES: dict[str, str] = {
    # import jobs (imports.py)
    "import_file_name": "拒绝文件名 {name!r}",
    "import_file_name.hint": "请用普通文件名上传，例如 customers.csv（不含文件夹，不以点开头）",
    # survey links (store/survey_links.py)
    "survey_score_range": "分数须在 {low} 到 {high} 之间",
    "scoring_running": "评分任务 {job} 尚未结束（{status}）",
    "scoring_running.hint": "请等它结束：任务页面显示进度",
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
    # the outbox and the daily pipeline (store/outbox.py, cli/worker.py)
    "outbox_message_missing": "发件箱中没有编号为 {id} 的消息",
    "outbox_message_missing.hint": "`rapport outbox list` 列出消息及其编号",
    "outbox_not_retryable": "消息 {id} 的状态是 {status}：只有死信或待发送的消息可以重新发送",
    "pipeline_busy": "另一个进程（{holder}）正在运行每日流程，租约到 {until}",
    "pipeline_busy.hint": "等它结束，或加 --wait 秒数",
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
    "users_passwords_differ": "两次输入的密码不一致",
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
    # the monthly report (reports/monthly.py, reports/monthly_render.py)
    "month_expected": "月份 {text!r}：需要 2026-11 这样的月份",
    "month_expected.hint": "请给出年份和月份，格式 YYYY-MM",
    "month_no_snapshot": "{month} 没有评分快照",
    "month_no_snapshot.hint": (
        "有快照的月份：{months}；`rapport score --as-of` 该月的某一天生成快照"
    ),
    "report_format_unknown": "报告格式 {value!r}",
    "report_format_unknown.hint": "可用格式：{choices}",
    "pdf_font_missing": "找不到可显示中文的字体，无法生成 PDF",
    "pdf_font_missing.hint": (
        "请安装 fonts-noto-cjk（或 fonts-wqy-microhei），例如 `apt-get install fonts-noto-cjk`"
    ),
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
    # values the store refuses (store/repository.py); {problem} and {advice} are texts of
    # their own, shown through TEXTS
    "value_refused": "{table}.{field} = {value!r}：{problem}",
    "value_refused.hint": "{advice}",
    "value_missing": "{table}.{field} 不能为空：必填",
    "value_duplicate": "{table}.{where} = {value!r}：已存在",
    "value_duplicate_unnamed": "{table}.{where}：已存在",
    "unique.hint": "{where} 在 {table} 中必须唯一",
    "unique_together.hint": "{where} 的组合在 {table} 中必须唯一",
    "value_exists.hint": "请修改已有的那条记录，而不是再创建一条",
    "duplicate_detail": "{table}：值重复（{detail}）",
    "db_unique": "{table}：违反唯一约束（{message}）",
    "db_check": "{table}：数据库的检查约束拒绝了这个值（{message}）",
    "db_foreign_key": "{table}：引用的记录不存在（{message}）",
    "db_not_null": "{table}：缺少必填值（{message}）",
    "db_refused": "{table}：数据库拒绝了这次写入（{message}）",
    "db_rule": "{rule}",
    "db_rule.hint": "{advice}",
    "record_not_found": "没有 ID 为 {id} 的{entity}",
    "record_not_found_by_key": "没有{key_name}为 {key!r} 的{entity}",
    # accounts, passwords and API tokens (store/users.py, store/tokens.py, access.py)
    "password_short": "密码至少需要 {length} 个字符",
    "password_short.hint": "换一个更长的密码（由几个词组成的口令最好）",
    "password_repeated": "密码被拒绝：只是同一个字符的重复",
    "password_username": "密码被拒绝：就是用户名，或与用户名太接近",
    "password_username.hint": (
        "选一个与用户名无关的密码：由三四个互不相关的词组成的口令好记又难猜"
    ),
    "password_guessable": "密码被拒绝：太容易被猜到",
    "password_guessable_because": "密码被拒绝：太容易被猜到（{warning}）",
    "password.hint": "换一个更长、更难猜的密码：由三四个互不相关的词组成的口令好记又难猜",
    "password_tips.hint": (
        "换一个更长、更难猜的密码：由三四个互不相关的词组成的口令好记又难猜。{tips}"
    ),
    "username_invalid": "users.username = {username!r}：不能为空，前后不能有空格",
    "last_admin": "{username} 是最后一个启用的管理员",
    "last_admin.hint": "请先让另一个账号成为启用的管理员",
    "own_account": "不能停用自己的账号，也不能取消自己的管理员角色",
    "own_account.hint": "请另一位管理员来做",
    "token_no_scope": "API 令牌至少需要一个权限范围",
    "token_no_scope.hint": "例如 customers:read、orders:write，或用 * 表示该用户能做的一切",
    "token_scope_unknown": "api_tokens.scopes：未知的权限范围 {scope!r}",
    "token_scope_unknown.hint": (
        "请用 <资源>:read 或 <资源>:write，资源为 {resources} 之一；或用 *"
    ),
    "sales_owner": "销售只能自己作为客户的负责人",
    "sales_owner.hint": "不填 owner_id，或填你自己的用户 ID {user_id}",
    "manager_owner": "经理只能把客户分配给本团队的用户",
    "role_cannot_assign": "{role} 角色不能分配客户",
    # periods (analytics/periods.py)
    "timezone_unknown": "未知的时区 {tz!r}",
    "timezone_unknown.hint": "请使用 IANA 时区名，例如 Asia/Shanghai",
    "granularity_unknown": "未知的时间粒度 {unit!r}",
    "granularity_unknown.hint": "可选：{choices}",
    "period_unreadable": "无法识别期间 {text!r}",
    "period_unreadable_because": "无法识别期间 {text!r}：{why}",
    "period.hint": (
        "可写作 2024（一年）、2024Q1（一个季度）、2024-03（一个月）、2024-03-15（一天），"
        "或这些形式的 起..止（两端都包含，如 2024-01..2024-12、2024-01-01..2024-03-31），"
        "或截至分析日期（--as-of）的最近 N 天/周/月/年（90d、12w、6m、1y）"
    ),
    "period_reversed": "期间的结束（{end}）早于开始（{start}）",
    "period_reversed.hint": "先写较早的时间",
    "period_not_positive": "相对期间的长度必须为正数，而不是 {n}",
    # files the importer cannot read (ingest/readers.py)
    "file_missing": "{path}：文件不存在",
    "file_empty": "{path}：文件是空的",
    "file_xls": "{path}：这是旧版 Excel .xls 文件",
    "file_xls.hint": "请在 Excel 中另存为 .xlsx 或 CSV 后再导入",
    "file_not_xlsx": "{path}：不是电子表格（没有 XLSX 内容）",
    "file_not_xlsx.hint": "检查文件；如果它是文本文件，改名为 .csv",
    "file_not_parquet": "{path}：不是 Parquet 文件（没有 PAR1 标记）",
    "file_parquet_unreadable": "{path}：无法读取的 Parquet 文件：{reason}",
    "file_encoding_unknown": "{path}：无法判断文本编码",
    "file_encoding_unknown.hint": "请把文件存为 UTF-8（Excel：CSV UTF-8）后再导入",
    "file_no_header": "{path}：没有表头行",
    "file_no_header.hint": "第一行必须是各列的列名",
    "file_header_nul": "{path}：表头含 NUL 字符",
    "file_header_nul.hint": ("它是不带 BOM 的 UTF-16 或 UTF-32 文件吗？请存为 UTF-8 后再导入"),
    "file_header_blank": "{path}：表头中这些位置的列没有列名：{positions}",
    "file_header_blank.hint": "在第一行给每一列起名",
    "file_header_twice": "{path}：列 {column!r} 在表头中出现了两次",
    "file_not_spreadsheet": "{path}：无法读取的电子表格：{reason}",
    "file_sheet_unreadable": "{path}：工作表 {sheet!r} 无法读取：{reason}",
    "file_no_sheet": "{path}：没有名为 {sheet!r} 的工作表",
    "file_no_sheet.hint": "工作表：{sheets}",
    "file_sheet_columns": "{path}：工作表 {sheet!r} 的列与第一个工作表不同",
    "file_sheet_columns.hint": "用 --sheet 每次导入一个工作表",
    "file_sheets_empty": "{path}：所有工作表都是空的",
    "file_no_json": "{path}：前 1,000 行中没有 JSON 对象",
    "file_no_json.hint": "每一行必须是一个 JSON 对象",
    "file_no_line_break": "{path}：前 {megabytes} MB 中没有换行",
    "file_no_line_break.hint": "第一行必须是表头；这是 CSV 文件吗？",
    "file_row_too_long": "{path}：有一行超过 {megabytes} MB",
    "file_row_too_long.hint": "拆分特别长的值（或行）后再导入",
    "file_not_csv": "{path}：无法按 CSV 解析：{reason}",
    # configuration and mapping files (config.py, ingest/importer.py)
    "config_file_missing": "配置文件 {path} 不存在",
    "config_file_missing.hint": "检查 RAPPORT_CONFIG_FILE",
    "toml_invalid": "{path} 第 {line} 行第 {column} 列：TOML 格式无效：{problem}",
    "toml_invalid.hint": "修改错误信息所指的那一行",
    "rules_invalid": "{source}：{where}：{why}",
    "rules_invalid.hint": "修改这个键，或删除它",
    "setting_invalid": "{where}：{why}",
    "setting_invalid.hint": "修改这个环境变量（或 .env 文件），或取消设置",
    "mapping_missing": "映射文件 {path} 不存在",
    "mapping_missing.hint": "检查 --mapping 给出的路径",
    "mapping_sections": "{path}：未知的小节 {sections}；请用 [columns]、[values]",
    "mapping_columns": "{path}：[columns] 中的值必须是导入字段名",
    "mapping_columns.hint": '每行写成 "文件中的列名" = "字段"',
    "mapping_value": "{path}：[values] 中的 {field} 必须是单个值（文本或数字）",
    # the importer's columns (ingest/importer.py, ingest/entities.py)
    "mapping_no_field": "映射：{column!r} → {target!r}：{noun} 没有字段 {target!r}",
    "mapping_no_field.hint": "{noun} 的字段：{fields}；'-' 表示忽略这一列",
    "mapping_value_no_field": "映射：[values] {target!r}：{noun} 没有字段 {target!r}",
    "mapping_value_no_field.hint": "{noun} 的字段：{fields}",
    "mapping_two_columns": "列 {other!r} 和 {column!r} 都映射到 {noun}.{target}",
    "mapping_two_columns.hint": "在 --mapping 文件中把其中一列映射到别处（或映射为 '-'）",
    "mapping_value_and_column": "映射：[values] {target!r}：文件中已有对应的列（{column!r}）",
    "mapping_value_and_column.hint": "从 [values] 中删除它，或把 {column!r} 映射为 '-' 以使用该值",
    "import_required_column": "{noun}：必填字段 {fields} 没有对应的列",
    "import_required_column.hint": (
        "请重命名一列，或用 --mapping（[columns]）映射一列，或用 [values] 给每一行同一个值"
        "（文件中的列：{columns}）"
    ),
    "entity_unknown": "未知的导入对象 {name!r}",
    "entity_unknown.hint": "可选：{names}",
    # customers, loyalty (store/customers.py, store/loyalty.py)
    "tag_refused": (
        "customers.tags：不能添加标签 {tag!r}（{problem}）：标签长 1 到 {length} 个字符，"
        "每位客户最多 {count} 个"
    ),
    "tag_refused.hint": "缩短标签，或先删除该客户的一个标签",
    "points_insufficient": "客户 {customer} 只有 {available} 积分，不能使用 {points} 积分",
    "points_insufficient.hint": "最多只能兑换现有余额",
    "points_not_positive": "loyalty_ledger.points = {points}：兑换的积分必须是正数",
    "points_not_positive.hint": "请给出大于 0 的积分数",
    "reward_inactive": "奖励 {code!r} 已不再提供",
    "reward_out_of_stock": "奖励 {code!r} 已无库存",
    "reward_out_of_stock.hint": "请选择其他奖励，或增加它的库存",
    "voucher_used": "兑换券 {code!r} 已于 {used} 使用",
    # models: inputs, fitted state, saved documents (models/)
    "model_input_row": "{name}：第 {row} 行{problem}（{value!r}）",
    "model_not_fitted": "{model} 模型尚未拟合",
    "model_not_fitted.hint": "先调用 fit()，或用 from_dict() 载入已拟合的模型",
    "model_no_covariance": "{model} 模型没有协方差矩阵",
    "model_no_covariance.hint": "拟合它，或载入连同协方差一起保存的模型",
    "confidence_level": "置信水平必须严格介于 0 和 1 之间，而不是 {level!r}",
    "level.hint": "例如 0.9 或 0.95",
    "model_wrong_kind": "不是 {expected} 类型的已保存模型：kind={kind!r}",
    "model_refit.hint": "用 `rapport models fit` 重新拟合模型",
    "model_format_version": "不支持的模型格式版本 {version!r}",
    "model_format_version.hint": "此版本的 Rapport 读取格式 {format}",
    "model_params_missing": "已保存的 {model} 模型缺少参数 {missing}",
    "model_input_numbers": "{name} 必须是数字：{reason}",
    "model_input_shape": "{name} 必须是一维的，而不是形状 {shape}",
    "model_input_rows": "{name} 有 {rows} 行，而其他输入有 {size} 行",
    "weights_zero": "权重之和为 0：没有可拟合的数据",
    "horizon_not_duration": "预测期必须是 Duration，而不是 {value!r}",
    "horizon_not_duration.hint": '例如 Duration(39, "weeks") 或 Duration(90, "days")',
    "fit_not_converged": "{model} 拟合没有收敛到内部最优解；尝试过：{tried}",
    "model_document_unreadable": "{path}：不是可读的模型文件（{reason}）",
    "model_document_kind": "{path}：不是 {kind} 模型文件",
    "model_document_newer": "{path}：模型格式 {format} 比此版本的 Rapport 能读的（{reads}）更新",
    "model_document_newer.hint": "升级 Rapport，或用 `rapport models fit` 重新拟合模型",
    "duration_negative": "时长必须是非负数，而不是 {amount!r}",
    "gammagamma_not_repeat": "frequency：第 {row} 行为 0，而 Gamma-Gamma 只用复购客户拟合",
    "gammagamma_repeat.hint": (
        "Gamma-Gamma 只用复购客户（frequency > 0）拟合：用 "
        "rapport.models.clv.gammagamma.repeat_buyers(frequency, monetary) 选出他们"
    ),
    "gammagamma_monetary": "monetary：第 {row} 行不是正数，但其 frequency 为 {frequency:g}",
    "gammagamma_monetary.hint": "复购客户的平均消费额大于 0",
    "sbg_alive_counts": "alive_counts 需要同期群的人数（> 0）和至少一个之后的计数",
    "sbg_alive_rises": "alive_counts：第 {row} 行比前一行大（{count:g} > {before:g}）",
    "sbg_alive_rises.hint": "同期群中仍活跃的客户数只会逐期减少",
    "sbg_cohort_empty": "同期群是空的：没有期间或没有客户",
    "clv_not_duration": "{name} 必须是 Duration，而不是 {value!r}",
    "clv_not_duration.hint": '例如 Duration(12, "months")',
    "clv_step_positive": "步长必须是正数",
    "interval_level": "水平必须严格介于 0 和 1 之间，而不是 {level!r}",
    "clv_draws": "抽样次数至少为 2",
    # the churn model (models/churn/)
    "churn_horizon": "流失预测期必须是正整数天，而不是 {horizon}",
    "extra_features_no_key": "附加特征没有 {column} 列",
    "extra_feature_clash": "附加特征 {name!r} 已经是特征列",
    "extra_feature_clash.hint": "给它换个名字",
    "extra_features_repeat": "附加特征中有重复的 {column}",
    "extra_features_repeat.hint": "每位客户一行",
    "calibration_unknown": "未知的校准方法 {method!r}",
    "calibration_unknown.hint": "可选：{methods}",
    "features_no_column": "表中没有{what}列 {name!r}",
    "columns_present.hint": "已有的列：{columns}",
    "features_not_number": "{what}列 {name!r} 的类型是 {type}，不是数字",
    "features_not_number.hint": "特征必须是数字或布尔值；请先对类别编码",
    "features_infinite": "{what}列 {name!r} 含有无穷大的值",
    "features_infinite.hint": "未知的值请用 null",
    "feature_transform_unknown": "未知的特征变换 {transform!r}",
    "label_nulls": "标签列 {name!r} 有空值",
    "label_nulls.hint": "给每一行训练数据打标签（churn_labels 覆盖截止日期之前的每位购买客户）",
    "label_not_binary": "标签列 {name!r} 只能是布尔值或 0/1",
    "churn_not_converged": "逻辑回归在 {iterations} 次迭代内没有收敛",
    "churn_not_converged.hint": "降低正则化参数 C（更强的惩罚），或去掉一些特征",
    "churn_key_feature": "{column} 用来标识行，不能作为特征",
    "churn_c_positive": "c 必须是正数，而不是 {c!r}",
    "churn_folds": "folds 至少为 2，而不是 {folds}",
    "churn_label_feature": "标签 {name!r} 不能同时是特征",
    "churn_no_features": "表中没有数值型的特征列",
    "churn_not_fitted": "流失模型尚未拟合",
    "churn_not_fitted.hint": "调用 fit() 或 from_dict()",
    "churn_document": "不是版本 {reads} 的流失模型文件：kind={kind!r}，version={version!r}",
    # the demand forecast (models/demand.py)
    "demand_calendar_unknown": "未知的节日日历 {name!r}",
    "demand_calendar_unknown.hint": "可选：zh_CN、en_US 或 none",
    "demand_series_columns": "需求序列缺少列 {missing}",
    "demand_series_columns.hint": "请用 rapport.analytics.demand.category_demand",
    "demand_granularity": "需求预测按周或按月，而不是 {granularity!r}",
    "demand_pooling": "pooling 必须在 [0, 1] 之内，而不是 {pooling!r}",
    "demand_series_periods": "需求序列不是 {tz} 时区内连续的完整 {granularity} 期",
    "demand_series_periods.hint": "给 category_demand 的起止时间要落在期间的边界上",
    "demand_not_fitted": "需求预测模型尚未拟合",
    "demand_not_fitted.hint": "先调用 fit(series)",
    "demand_document": "不是版本 {reads} 的需求预测模型：format={format!r}，version={version!r}",
    "demand_document.hint": "重新拟合需求预测模型",
    "demand_no_errors": "没有 {method!r} 在 {scope!r} 上的误差",
    "demand_holdout": "holdout_periods 必须在 1..{maximum} 之内，而不是 {holdout}",
    "demand_holdout.hint": "历史越长，留出期就可以越长",
    # reports over the score snapshots (reports/)
    "clv_bins": "分组数 {bins} 不可用",
    "clv_bins.hint": "请用 1 到 {maximum} 组",
    "grouping_unknown": "{by!r} 不是可用的分组方式",
    "movers_dates": "之前的日期 {before} 不早于之后的日期 {after}",
    "movers_dates.hint": "先给出较早的快照日期",
    "limit_refused": "条数 {limit!r} 不可用",
    "limit_positive.hint": "请给 1 或更大的数",
    "overview_limit": "快照个数 {limit}：至少一个",
    "min_risk_range": "min_risk {min_risk}：必须是概率",
    "min_risk_range.hint": "请用 0 到 1 之间的值",
    "as_of_range": "截至 {day}：须在 {first} 年到 {last} 年之间",
    "as_of_range.hint": "请给出这一范围内的日期",
    "overview_period": "期间 {period!r} 不可用",
    "snapshot_dated": "{day} 没有评分快照",
    "snapshot_latest.hint": "不指定 as_of，使用最新的快照",
    "diamond_order": "钻石客户不能按 {order!r} 排序",
    "snapshot_grouping": "不能按 {by!r} 分组",
    "worklist_days": "{name} {days!r}：不是 1 到 {maximum} 之间的天数",
    "worklist_days.hint": "请给 1 到 {maximum} 之间的整数天",
    "worklist_limit": "条数 {limit!r}：不是 1 到 {maximum} 之间的行数",
    "worklist_limit.hint": "请给 1 到 {maximum} 之间的条数",
    "birthdays_masked": "生日属于个人数据，分析师角色不能查看",
    "birthdays_masked.hint": "请经理或客户的负责人查看",
    "worklist_cursor": "after {cursor!r}：不是 {kind} 列表的翻页游标",
    "worklist_cursor.hint": "原样传入上一页的 next_cursor，或不传",
    # the service queue (reports/service_queue.py)
    "queue_assignee": "负责人筛选 {assignee!r} 不可用",
    "queue_status": "状态 {status!r}：服务队列只含未关闭的工单",
    "queue_limit": "条数 {limit}：超出范围",
    "queue_limit.hint": "每页请取 1 到 {maximum} 张工单",
    "queue_cursor": "游标 {cursor!r} 不是服务队列的翻页游标",
    "queue_cursor.hint": "用上一页返回的游标翻页，或不传",
    "naive_now": "now：时间没有时区",
    "naive_now.hint": "请传入带时区的时间（UTC）",
    # tasks (store/tasks.py, actions/tasks.py)
    "task_not_found": "没有 ID 为 {id} 的任务",
    "task_not_open": "任务 {id} 的状态是 {status}，不是待办：只有待办任务可以更改",
    "task_not_open.hint": "用 status=open 列出待办任务",
    "task_text_long": "{field}：最多 {limit} 个字符",
    "task_text_long.hint": "请缩短",
    "task_result_unknown": "result：{value} 不是通话结果",
    "task_result_unknown.hint": "请填写以下之一：{allowed}",
    "task_skip_reason": "reason：跳过任务须说明原因",
    "task_skip_reason.hint": "说明为什么不做（例如客户要求不要来电）",
    "task_no_assignee": "assignee_id：任务须交给一位员工或一个团队的队列",
    "task_no_assignee.hint": "给出员工编号，或给出团队以放入团队队列",
    "task_write_forbidden": "{role} 角色不能处理任务",
    "task_write_forbidden.hint": "请联系任务负责人或经理",
    "task_naive_time": "{field}：时间没有时区",
    "task_naive_time.hint": "请带上时区偏移，例如 2026-03-01T18:00:00+08:00",
    "task_assign_forbidden": "{role} 角色只能把任务交给自己或自己团队的队列",
    "task_assign_forbidden.hint": "不填 assignee_id 即由自己负责",
    "task_assignee_unknown": "assignee_id：没有 ID 为 {id} 的在职员工",
    "task_assignee_unknown.hint": "请交给在职的管理员、经理、销售或客服",
    "task_reassign_forbidden": "{role} 角色不能把任务交给他人",
    "task_reassign_forbidden.hint": "请联系经理",
    "task_due_forbidden": "{role} 角色只能更改分配给自己的任务的到期时间",
    "task_due_forbidden.hint": "请联系经理",
    "task_status_change": "status：任务只能标为完成（done）或跳过（skipped）；{status} 自动设置",
    "task_status_change.hint": "请用 done 或 skipped",
    "task_title": "title：须为 1 到 200 个字符",
    "task_title.hint": "写明要做什么，例如：回访：询问使用体验",
    # alerts (store/alerts.py, actions/alerts.py)
    "alert_not_found": "没有 ID 为 {id} 的告警",
    "alert_resolved": "告警 {id} 已经解决",
    "alert_resolved.hint": "已解决的告警在其情况再次出现时会自动重新打开",
    "alert_write_forbidden": "{role} 角色不能确认或解决告警",
    "alert_write_forbidden.hint": "请联系经理",
    "alerts_day_expected": "{option} {text!r}：需要 2024-12-31 这样的日期",
    "alerts_future_day": "日期 {day}：这一天还没有开始",
    "alerts_future_day.hint": "请为今天或更早的日期运行告警",
    "ticket_not_found": "没有 ID 为 {id} 的服务工单",
    "ticket_move_own": "工单 {id}：{role} 角色只能变更分配给自己的工单",
    "ticket_move_forbidden": "工单 {id}：{role} 角色不能变更工单状态",
    "ticket_move.hint": "请经理把这张工单分配给你",
    "ticket_assign_forbidden": "{role} 角色不能分配工单",
    "ticket_assign_forbidden.hint": "请管理员或经理来做",
    "ticket_assignee_unknown": "assignee_id：没有 ID 为 {id} 的在职员工账号",
    "ticket_assignee_unknown.hint": "请分配给一位在职的管理员、经理、销售或客服",
    # analyses (analytics/)
    "demand_period_empty": "需求期间 {period} 是空的",
    "demand_period_empty.hint": "开始时间要早于结束时间",
    "service_dimension": "服务水平不能按 {dimension!r} 细分",
    "resolution_unknown": "未知的时间精度 {resolution!r}",
    "holdout_before_calibration": "留出期必须在校准期之后结束",
    "holdout_before_calibration.hint": "请给一个晚于 {end} 的时间",
    "rfm_window": "RFM 窗口必须是正数天，而不是 {days}",
    # the store's writes (store/)
    "bulk_value_refused": "{table}.{field} = {value!r}（{label} {key}）：{problem}",
    "bulk_no_column": "{table} 没有列 {column}",
    "bulk_no_column.hint": "{table} 的字段：{fields}",
    "lead_converted": "潜在客户 {lead} 已经转化为客户 {customer}",
    "note_length": (
        "customer_notes.body：备注须为 1 到 {maximum} 个字符的文本（实际 {length} 个字符）"
    ),
    "note_length.hint": "请把备注重写为不超过 {maximum} 个字符",
    "cursor_refused": "{field}：不是这个列表给出的翻页游标",
    "ticket_transition": "工单 {id}：不能从 {current} 变为 {status}",
    "ticket_transition.hint": "可以变为的状态：{allowed}",
    "ticket_changed_meanwhile": "工单 {id} 已不再是 {current}：另一个修改先完成了",
    "ticket_changed_meanwhile.hint": "重新读取工单后再试",
    # the API's writes (api/routes/)
    "campaign_delivered": "营销活动 {id} 已有 {deliveries} 次触达，不能删除",
    "campaign_delivered.hint": "请改为结束它：PATCH ended_at",
    "customer_erased": "客户 {id} 已按要求删除个人数据，不能再修改",
    "customer_erased.hint": "如果此人再次到来并同意，请新建客户",
    "lead_converted_status": "潜在客户 {lead} 已转化为客户 {customer}，状态不能再改",
    "order_transition": "订单 {id} 的状态是 {current}，不能变为 {status}",
    "order_refund_cancelled": "订单 {id} 已取消：没有付过款，无可退款",
    "order_refund_back": "订单 {id} 已退款 {refunded}，退款不能减回到 {refund}",
    "order_refund_back.hint": "请发送至今的退款总额，不能少于之前的数额",
    # the sample company (sample/)
    "cdnow_file_unknown": "未知的 CDNOW 文件 {which!r}",
    "cdnow_lifetimes_missing": "CDNOW 数据需要 `lifetimes` 包",
    "cdnow_file_missing": "已安装的 lifetimes 中缺少 {file}",
    "cdnow_lifetimes.hint": "用 `pip install lifetimes` 安装（数据在它的 wheel 中）",
    "sample_columns": "{entity} 的列与导入格式不一致",
    "sample_format_unknown": "未知的格式 {format!r}",
    "at_least_one": "{name} 至少为 1",
    "sample_too_many": "{locale} 样例最多 {maximum:,} 位客户",
    "sample_too_many.hint": "再多的话联系方式将不再唯一",
    "sample_locale_unknown": "未知的区域设置 {name!r}",
    # the web workspace (web/)
    "active_user_not_found": "没有这个在职用户",
    "analysis_too_many_values": "请求了 {count} 个值；最多 {maximum} 个",
    "analysis_too_many_values.hint": "请选更粗的时间粒度、更短的期间，或不按分群",
    "ticket_missing": "没有这张服务工单",
    # the server's analytics workers (workers.py)
    "worker_timeout": "{what}用时超过 {timeout:g} 秒",
    "worker_stopped": "{what}的工作进程意外停止",
    "worker_stopped.hint": "请重试：会启动新的工作进程",
    "worker_exited": "{what}的工作进程意外停止（退出码 {code}）",
    "worker_exited.hint": "请看上面的消息；运行不等它继续进行",
    # playbooks (actions/playbooks.py, store/playbooks.py)
    "playbook_invalid": "行动手册 {code}：{where}：{problem}",
    "playbook_invalid.hint": "{advice}",
    "playbook_missing": "没有代码为 {code!r} 的行动手册",
    "playbook_missing.hint": "用 `rapport playbooks list`（GET /playbooks）查看所有行动手册",
    "playbooks_dry_only": "分析师只能试运行行动手册",
    "playbooks_dry_only.hint": "请发送 dry_run = true，或请经理运行",
    # the action loop's statistics (actions/holdout.py, actions/effect.py, actions/sample_size.py)
    "share_range": "{name} 必须是 0 到 1 之间的数，而不是 {value!r}",
    "share_range.hint": "份额写成小数：0.1 表示留出 10%",
    "probability_open": "{name} 必须严格介于 0 和 1 之间，而不是 {value!r}",
    "probability_open.hint": "例如置信度 0.95、检验功效 0.8、显著性水平 0.05",
    "bootstrap_resamples": "自助法重抽样次数必须是 0（不做）或不少于 100 的整数，而不是 {value!r}",
    "bootstrap_resamples.hint": "例如 2000",
    "sample_size_difference": (
        "基准比率 {baseline} 上的差异 {difference!r} 无法检测：差异不能为 0，"
        "且处理组的比率须在 0 和 1 之间"
    ),
    "sample_size_difference.hint": "差异写成小数，例如 0.02 表示两个百分点",
    "arm_customers": "{name} 必须是至少为 1 的客户数（整数），而不是 {value!r}",
}

#: Parameters that hold a text rather than data: the problem of a value and what to do
#: about it (column rules, the repository), a reason Python or a library gives, the warning
#: and tips of the password checker (zxcvbn), the noun of a record and the name of its
#: natural key, a rule a trigger states. Under ``zh_CN`` they are shown through
#: :data:`TEXTS` and :data:`TEXT_PATTERNS`, then the import's problem texts
#: (:func:`rapport.i18n.reasons.message`); a text none of them knows keeps its words (the
#: tests name the texts the code can produce).
TEXT_PARAMS = frozenset(
    {"problem", "advice", "why", "warning", "tips", "entity", "key_name", "rule", "what"}
)

#: Texts of :data:`TEXT_PARAMS`, by their English words (compared without case and final
#: full stop: zxcvbn's warnings are quoted in lower case without it).
TEXTS: dict[str, str] = {
    # what the TOML parser (tomllib) finds wrong in a rules or mapping file (config.read_toml)
    "Invalid statement": "无效的语句",
    "Cannot overwrite a value": "不能覆盖已有的值",
    "Expected ']' at the end of a table declaration": "表头末尾缺少 ']'",
    "Expected ']]' at the end of an array declaration": "数组表头末尾缺少 ']]'",
    "Expected '=' after a key in a key/value pair": "键后面缺少 '='",
    "Invalid initial character for a key part": "键名的第一个字符无效",
    "Unclosed array": "数组没有闭合",
    "Unclosed inline table": "内联表没有闭合",
    "Unescaped '\\' in a string": "字符串中有未转义的 '\\'",
    "Invalid hex value": "无效的十六进制值",
    "Escaped character is not a Unicode scalar value": "转义的字符不是 Unicode 标量值",
    "Unterminated string": "字符串没有结束",
    "Invalid date or datetime": "无效的日期或日期时间",
    "Invalid value": "无效的值",
    "not UTF-8 text": "不是 UTF-8 文本",
    # problems of a value (store/repository.py, store/rules.py)
    "unknown value": "未知的取值",
    "expected a date and time": "需要日期和时间",
    "time without a time zone": "时间没有时区",
    "attach a zone": "请带上时区",
    "expected a date": "需要日期",
    "expected true or false": "需要 true 或 false",
    "expected a number": "需要数字",
    "expected a finite number": "需要有限的数字",
    "expected a whole number": "需要整数",
    "expected text": "需要文本",
    "expected an amount": "需要金额",
    "expected a finite amount": "需要有限的金额",
    "too large for an amount": "金额过大",
    "no such field": "没有这个字段",
    # problems of a playbook's definition (actions/definitions.py)
    "unknown field": "未知的字段",
    "write a non-empty text": "请写非空的文本",
    "no action": "没有动作",
    "list at least one action": "至少列出一个动作",
    "no such field to filter on": "没有这个可供筛选的字段",
    "is required": "必填",
    "is required to upsert": "按业务键写入（upsert）时必填",
    "must be at least 1": "至少为 1",
    # rules the store's triggers state
    "loyalty_ledger is append-only: add a correcting entry instead": (
        "积分流水只能追加：请添加一条更正记录"
    ),
    # what is wrong with a model's input row (models/base.py) and what to do
    "is not a finite number": "不是有限的数字",
    "is not positive": "不是正数",
    "is not a whole number": "不是整数",
    "is positive but its frequency is 0": "为正数，但其 frequency 为 0",
    "recency is the time of the last repeat purchase: 0 without repeat purchases": (
        "recency 是最后一次复购的时间：没有复购时为 0"
    ),
    "fit Gamma-Gamma on repeat buyers only (frequency > 0): select them with "
    "rapport.models.clv.gammagamma.repeat_buyers(frequency, monetary)": (
        "Gamma-Gamma 只用复购客户（frequency > 0）拟合：用 "
        "rapport.models.clv.gammagamma.repeat_buyers(frequency, monetary) 选出他们"
    ),
    # why a setting or a rule is refused (pydantic, config.py)
    "Input should be a valid integer, unable to parse string as an integer": "需要整数",
    "Input should be a valid integer": "需要整数",
    "Input should be a valid number, unable to parse string as a number": "需要数字",
    "Input should be a valid number": "需要数字",
    "Input should be a valid boolean, unable to interpret input": "需要 true 或 false",
    "Input should be a valid boolean": "需要 true 或 false",
    "Input should be a valid string": "需要文本",
    "Input should be a valid dictionary": "需要一个表（[小节]）",
    "Input should be a valid list": "需要列表",
    "Extra inputs are not permitted": "没有这个键",
    "Field required": "必填",
    # what a server's worker computes, and what to do when it takes too long (workers.py)
    "monthly report's metrics": "月度报告的指标",
    "overview metrics": "概览指标",
    "scoring": "评分",
    "metrics": "指标",
    "cohorts": "同期群留存",
    "funnel": "转化漏斗",
    "chain of the degrees": "四度之间的关系",
    "clusters": "聚类",
    "retry when the server is less busy": "请在服务器不那么忙时重试",
    "retry in a moment; the analytics workers may be busy": "请稍后重试：分析进程可能正忙",
    "ask for a shorter period": "请缩短期间",
    "run `rapport score` on the server, which has no time limit": (
        "在服务器上运行 `rapport score`（没有时间限制）"
    ),
    # the columns of a model's table (models/churn/encoding.py)
    "label": "标签",
    "feature": "特征",
    # why a tag cannot be added (store/customers.py TagProblem)
    "empty": "为空",
    "too_long": "太长",
    "too_many": "标签已满",
    "not_text": "不是文本",
    # the nouns of the records (Repository(entity=…))
    "customer": "客户",
    "user": "用户",
    "API token": "API 令牌",
    "product": "商品",
    "lead": "潜在客户",
    "order": "订单",
    "order item": "订单明细",
    "event": "行为事件",
    "interaction": "互动记录",
    "customer note": "客户备注",
    "ticket": "服务工单",
    "ticket status change": "工单状态变更",
    "survey response": "问卷回答",
    "referral": "推荐记录",
    "campaign": "营销活动",
    "campaign delivery": "活动触达",
    "loyalty entry": "积分流水",
    "loyalty tier": "会员等级",
    "score snapshot": "评分快照",
    "import job": "导入任务",
    "scoring job": "评分任务",
    "staged upload": "待确认的上传文件",
    "audit entry": "审计记录",
    "reward": "奖励",
    "voucher": "兑换券",
    # the natural keys records are found by (Repository(key=…))
    "username": "用户名",
    "external_id": "编号",
    "sku": "商品编码（SKU）",
    "code": "代码",
    "token_hash": "令牌哈希",
    # why a period is not a date (Python's datetime)
    "month must be in 1..12": "月份必须在 1 到 12 之间",
    "day is out of range for month": "这个月没有这一天",
    "year 0 is out of range": "年份 0 超出范围",
    "a relative period needs a positive length": "相对期间的长度必须为正数",
    "the range ends before it starts": "结束早于开始",
    # the password checker's warnings and tips (zxcvbn)
    "Use a few words, avoid common phrases.": "用几个词组成，避免常见的短语。",
    "No need for symbols, digits, or uppercase letters.": "不必使用符号、数字或大写字母。",
    "Add another word or two. Uncommon words are better.": "再加一两个词，不常见的词更好。",
    "Straight rows of keys are easy to guess.": "键盘上连成一排的键很容易被猜到",
    "Short keyboard patterns are easy to guess.": "简短的键盘图案很容易被猜到",
    "Use a longer keyboard pattern with more turns.": "使用更长、拐弯更多的键盘图案。",
    'Repeats like "aaa" are easy to guess.': "“aaa”这样的重复很容易被猜到",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': (
        "“abcabcabc”这样的重复只比“abc”难猜一点点"
    ),
    "Avoid repeated words and characters.": "避免重复的词和字符。",
    'Sequences like "abc" or "6543" are easy to guess.': "“abc”或“6543”这样的序列很容易被猜到",
    "Avoid sequences.": "避免序列。",
    "Recent years are easy to guess.": "最近的年份很容易被猜到",
    "Avoid recent years.": "避免最近的年份。",
    "Avoid years that are associated with you.": "避免与你有关的年份。",
    "Dates are often easy to guess.": "日期往往很容易被猜到",
    "Avoid dates and years that are associated with you.": "避免与你有关的日期和年份。",
    "This is a top-10 common password.": "这是最常见的 10 个密码之一",
    "This is a top-100 common password.": "这是最常见的 100 个密码之一",
    "This is a very common password.": "这是非常常见的密码",
    "This is similar to a commonly used password.": "这与一个常用密码很相似",
    "A word by itself is easy to guess.": "单独一个词很容易被猜到",
    "Names and surnames by themselves are easy to guess.": "单独的名字和姓氏很容易被猜到",
    "Common names and surnames are easy to guess.": "常见的名字和姓氏很容易被猜到",
    "Capitalization doesn't help very much.": "大写字母帮助不大。",
    "All-uppercase is almost as easy to guess as all-lowercase.": (
        "全部大写几乎和全部小写一样容易被猜到。"
    ),
    "Reversed words aren't much harder to guess.": "倒过来写的词并不难猜多少。",
    "Predictable substitutions like '@' instead of 'a' don't help very much.": (
        "用“@”代替“a”这类可预料的替换帮助不大。"
    ),
}

#: Texts of :data:`TEXT_PARAMS` with numbers or names in them: a pattern of the English
#: (the whole text) and the Chinese template of its named groups.
TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), zh)
    for pattern, zh in (
        (r"too large for NUMERIC\((?P<p>\d+),(?P<s>\d+)\)", "超出 NUMERIC({p},{s}) 的范围"),
        (r"more than (?P<n>\d+) decimals", "小数超过 {n} 位"),
        (r"round the amount to (?P<n>\d+) decimals first", "先把金额舍入到 {n} 位小数"),
        (
            r"amounts must be smaller than (?P<limit>[\d,.]+) in absolute value",
            "金额的绝对值必须小于 {limit}",
        ),
        (
            r"use a whole number from (?P<low>-?\d+) to (?P<high>-?\d+)",
            "请用 {low} 到 {high} 之间的整数",
        ),
        (r"use one of: (?P<codes>.*)", "可选：{codes}"),
        # the TOML parser's texts that name a key or a character (config.read_toml)
        (r"Expected (?P<v>'.*')", "缺少 {v}"),
        (r"Found invalid character (?P<v>'.*')", "无效字符 {v}"),
        (r"Illegal character (?P<v>'.*')", "非法字符 {v}"),
        (r"Cannot declare (?P<v>.+) twice", "{v} 不能声明两次"),
        (r"Cannot mutate immutable namespace (?P<v>.+)", "不能修改不可变的 {v}"),
        (r"Cannot redefine namespace (?P<v>.+)", "不能重新定义 {v}"),
        (r"Duplicate inline table key (?P<v>.+)", "内联表中的键 {v} 重复"),
        (r"is below (?P<n>.+)", "小于 {n}"),
        # why a model's fit found no optimum, and what to do (models/clv/)
        (
            r"(?P<repeat>[\d.e+]+) of (?P<customers>[\d.e+]+) customers made a repeat purchase; "
            r"the (?P<model>.+) model needs enough repeat buyers, frequency must count repeat "
            r"purchases only, and recency and T must be in (?P<unit>\w+)",
            "{customers} 位客户中有 {repeat} 位复购；{model} 模型需要足够的复购客户，frequency 只计"
            "复购次数，recency 和 T 的单位必须是 {unit}",
        ),
        (
            r"(?P<lost>[\d.e+]+) of (?P<total>[\d.e+]+) customers were lost over (?P<n>\d+) "
            r"periods; the sBG needs customers lost in at least two periods at different rates",
            "{total} 位客户中有 {lost} 位在 {n} 期内流失；sBG 模型需要至少两期以不同的比例流失客户",
        ),
        (
            r"(?P<n>[\d.e+]+) repeat buyers; spend values must vary between customers",
            "{n} 位复购客户；客户之间的消费额必须有差异",
        ),
        (r"Input should be greater than or equal to (?P<n>.+)", "不能小于 {n}"),
        (r"Input should be greater than (?P<n>.+)", "必须大于 {n}"),
        (r"Input should be less than or equal to (?P<n>.+)", "不能大于 {n}"),
        (r"Input should be less than (?P<n>.+)", "必须小于 {n}"),
        (r"Input should be (?P<codes>'.*)", "可选：{codes}"),
        # the checks of config.py, as pydantic reports them ("Value error, …")
        (
            r"Value error, unsupported locale (?P<v>.+); use (?P<a>.+) or (?P<b>.+)",
            "不支持的语言 {v}；可选 {a} 或 {b}",
        ),
        (
            r"Value error, unknown time zone (?P<v>.+) \(use an IANA name\)",
            "未知的时区 {v}（请用 IANA 时区名）",
        ),
        (
            r"Value error, (?P<v>.+) orders are never purchases; "
            r"remove them from purchase_statuses",
            "状态为 {v} 的订单从不算作购买：请从 purchase_statuses 中删除",
        ),
        (r"Value error, missing targets for priorities (?P<v>.+)", "缺少这些优先级的目标：{v}"),
        (r"Value error, targets must be positive hours", "目标必须是正数小时"),
        (
            r"Value error, multipliers must be 0 or more; negative: (?P<v>.+)",
            "倍数不能小于 0；为负的：{v}",
        ),
        (
            r"Value error, \[loyalty.multipliers.tier\] names tiers that are not configured: "
            r"(?P<v>.+)",
            "[loyalty.multipliers.tier] 中有未配置的等级：{v}",
        ),
        (
            r"Value error, tier codes must be unique; repeated: (?P<v>.+)",
            "等级代码必须唯一；重复的：{v}",
        ),
        (
            r"Value error, one tier must have (?P<f>min_points|min_spend) = 0 "
            r"\(the tier every member starts in\)",
            "必须有一个等级的 {f} = 0（每位会员的起始等级）",
        ),
        (
            r"Value error, tiers need different (?P<f>min_points|min_spend); "
            r"the same in: (?P<v>.+)",
            "各等级的 {f} 必须不同；相同的：{v}",
        ),
        (
            r"Value error, \[loyalty.value_tier_map\] names tiers that are not configured: "
            r"(?P<v>.+)",
            "[loyalty.value_tier_map] 中有未配置的等级：{v}",
        ),
        (r"Value error, (?P<what>\w+) weights must not be negative", "{what} 的权重不能为负"),
        (
            r"Value error, at least one (?P<what>\w+) weight must be positive",
            "{what} 至少要有一个权重为正",
        ),
        (r"Value error, missing (?P<what>.+) for (?P<v>.+)", "{v} 缺少 {what}"),
        (
            r"Value error, a score range is \[low, high\] with 1 <= low <= high <= 5, "
            r"not (?P<v>.+)",
            "分数范围须为 [low, high]，且 1 <= low <= high <= 5，而不是 {v}",
        ),
        (r"Value error, the segment map does not cover (?P<v>.+)", "分群映射没有覆盖 {v}"),
        (
            r"Value error, lapsed_segment (?P<v>.+) is not one of (?P<codes>.+)",
            "lapsed_segment {v} 不在 {codes} 之中",
        ),
        (
            r"Value error, bronze has no rule: it is every buyer the other tiers leave",
            "bronze 没有规则：它是其他等级之外的所有购买客户",
        ),
        (
            r"Value error, list each tier once, from the top: (?P<v>.+)",
            "每个等级列一次，从最高的开始：{v}",
        ),
        (r"Value error, (?P<what>\w+) must not be negative", "{what} 不能为负"),
        (r"is after the customer's age T=(?P<t>.+)", "晚于客户的年龄 T={t}"),
        (
            r"recency and T are both counted in (?P<unit>\w+) from the first purchase",
            "recency 和 T 都从首次购买起以 {unit} 计",
        ),
        (r"fields of (?P<table>\w+): (?P<fields>.*)", "{table}的字段：{fields}"),
        (r"no (?P<table>\w+) row with id (?P<id>.+)", "{table}中没有 ID 为 {id} 的记录"),
        (r"create the (?P<table>\w+) row first", "先创建{table}中的记录"),
        # what is wrong with a playbook's definition and what to write (actions/definitions.py)
        (r"(?P<v>.+) is not one of (?P<codes>.+)", "{v} 不是 {codes} 之一"),
        (r"write one of (?P<codes>.+)", "请写 {codes} 之一"),
        (
            r"(?P<v>.+) is not a whole number from (?P<low>\S+) to (?P<high>\S+)",
            "{v} 不是 {low} 到 {high} 之间的整数",
        ),
        (
            r"(?P<v>.+) is not a number from (?P<low>\S+) to (?P<high>\S+)",
            "{v} 不是 {low} 到 {high} 之间的数",
        ),
        (
            r"write a whole number from (?P<low>\S+) to (?P<high>\S+)",
            "请写 {low} 到 {high} 之间的整数",
        ),
        (r"write a number from (?P<low>\S+) to (?P<high>\S+)", "请写 {low} 到 {high} 之间的数"),
        (r"use only (?P<fields>.+)", "只能使用 {fields}"),
        (r"(?P<v>.+) is not a table", "{v} 不是一个表"),
        (r"(?P<v>.+) is not a text", "{v} 不是文本"),
        (r"(?P<op>\w+) does not apply to (?P<field>\w+)", "{op} 不适用于 {field}"),
    )
)

_TEXTS_BY_WORDS = {english.rstrip(".").casefold(): zh for english, zh in TEXTS.items()}
_SENTENCE_END = re.compile(r"(?<=\.) ")


def text_zh(text: str) -> str:
    """A text of :data:`TEXT_PARAMS` in Chinese, or as it is when no catalogue knows it.

    Several sentences (zxcvbn's tips, joined) are translated one by one.
    """
    words = text.strip()
    found = _TEXTS_BY_WORDS.get(words.rstrip(".").casefold())
    if found is not None:
        return found
    for pattern, zh in TEXT_PATTERNS:
        if m := pattern.fullmatch(words):
            parts = m.groupdict()
            if parts.get("table") in LABELS:  # a table by its name in Chinese
                parts["table"] = t(parts["table"], "zh_CN")
            return zh.format(**parts)
    from rapport.i18n.reasons import match, message

    if match(words) is not None:
        return message(words, "zh_CN")
    return _sentences_zh(words) or text


def _sentences_zh(text: str) -> str | None:
    """Several known texts in a row (a tip may itself be two sentences), or ``None``."""
    sentences = _SENTENCE_END.split(text)
    if len(sentences) < 2:
        return None
    out, i = [], 0
    while i < len(sentences):
        for j in range(len(sentences), i, -1):
            found = _TEXTS_BY_WORDS.get(" ".join(sentences[i:j]).rstrip(".").casefold())
            if found is not None:
                out.append(found)
                i = j
                break
        else:
            return None
    return "".join(out)


#: The units of a duration (:class:`rapport.models.units.Duration`) in Chinese.
DURATION_UNITS = {"days": "天", "weeks": "周", "months": "个月", "years": "年"}


#: Parameters that hold the name of a table the sentence speaks of (``customers``): shown
#: by its Chinese label (:data:`rapport.i18n.labels.LABELS`).
NOUN_PARAMS = frozenset({"noun"})


def _zh_value(name: str, value: Any) -> Any:
    """A parameter as a Chinese sentence shows it: a text of :data:`TEXT_PARAMS` translated,
    a table of :data:`NOUN_PARAMS` by its label, a duration in Chinese units (``13 周``,
    not ``13 weeks``)."""
    if name in TEXT_PARAMS and isinstance(value, str):
        return text_zh(value)
    if name in NOUN_PARAMS and value in LABELS:
        return t(value, "zh_CN")
    unit = DURATION_UNITS.get(getattr(value, "unit", None) or "")
    amount = getattr(value, "amount", None)
    if unit is not None and isinstance(amount, int | float):
        return f"{amount:g} {unit}"
    return value


def _zh_params(params: dict[str, Any]) -> dict[str, Any]:
    return {name: _zh_value(name, value) for name, value in params.items()}


def _fill(key: str | None, params: dict[str, Any]) -> str | None:
    template = MESSAGES.get(key) if key else None
    if template is None:
        return None
    try:
        return template.format(**_zh_params(params))
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
