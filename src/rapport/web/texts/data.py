"""Texts of the page 数据 Data (:mod:`rapport.web.views.data`)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.data": ("数据", "Data"),
    "data.title": ("数据导入", "Data import"),
    "data.upload": ("上传文件", "Upload a file"),
    "data.upload_help": (
        "支持 CSV/TSV(自动识别 UTF-8、GBK 等编码)、XLSX、Parquet 和 JSON Lines。"
        "上传后先预览,确认后才写入。",
        "CSV/TSV (UTF-8, GBK and other encodings detected), XLSX, Parquet and JSON Lines. "
        "You see a preview first; nothing is written before you confirm.",
    ),
    "data.entity": ("数据类型", "Import as"),
    "data.file": ("文件", "File"),
    "data.send": ("上传并预览", "Upload and preview"),
    "data.uploading": ("上传进度", "Upload progress"),
    "data.preview": ("导入预览", "Import preview"),
    "data.preview_of": ("{file} · 导入为{entity}", "{file} · imported as {entity}"),
    "data.format": ("格式", "Format"),
    "data.encoding": ("编码", "Encoding"),
    "data.delimiter": ("分隔符", "Delimiter"),
    "data.size": ("大小", "Size"),
    "data.bytes": ("{n} 字节", "{n} bytes"),
    "data.delim.comma": ("逗号", "comma"),
    "data.delim.tab": ("制表符", "tab"),
    "data.delim.semicolon": ("分号", "semicolon"),
    "data.delim.pipe": ("竖线", "vertical bar"),
    "data.mapping": ("列对应", "Column mapping"),
    "data.file_column": ("文件列", "File column"),
    "data.field": ("导入字段", "Import field"),
    "data.unknown": ("(未识别,存入附加信息)", "(not recognised: kept as extra data)"),
    "data.defaults": ("文件未提供、将自动填充的字段", "Fields the file leaves out, filled in"),
    "data.sample": ("前 {n} 行样例", "The first {n} rows"),
    "data.row": ("行号", "Row"),
    "data.no_rows": ("文件只有表头,没有数据行。", "The file has a header and no rows."),
    "data.problems": ("样例中发现的问题", "Problems found in these rows"),
    "data.no_problems": (
        "样例行未发现问题(引用的记录和全文件重复在导入时检查)。",
        "No problem in these rows (references to stored records and duplicates across the "
        "file are checked by the import).",
    ),
    "data.column": ("列", "Column"),
    "data.reason": ("原因", "Reason"),
    "data.effect": ("处理", "Effect"),
    "data.effect_reject": ("整行拒绝", "row rejected"),
    "data.effect_warning": ("丢弃该值,保留该行", "value dropped, row kept"),
    "data.not_importable": ("无法按此文件导入", "This file cannot be imported as it is"),
    "data.confirm": ("确认导入", "Import"),
    "data.discard": ("放弃", "Discard"),
    "data.job": ("导入任务", "Import job"),
    "data.state": ("状态", "State"),
    "data.progress": ("导入进度", "Import progress"),
    "data.progress_queued": ("排队中,等待开始 …", "Queued, waiting to start …"),
    "data.progress_running": (
        "正在导入 … 已用 {seconds} 秒(按批提交,每批最多 10 万行)",
        "Importing … {seconds} s so far (committed in batches of up to 100,000 rows)",
    ),
    "data.progress_done": ("导入完成,用时 {seconds} 秒", "Done in {seconds} s"),
    "data.progress_failed": ("导入失败", "The import failed"),
    "data.report": ("导入报告", "Import report"),
    "data.count.read": ("读取", "Read"),
    "data.count.inserted": ("新增", "Inserted"),
    "data.count.updated": ("更新", "Updated"),
    "data.count.unchanged": ("未变", "Unchanged"),
    "data.count.rejected": ("拒绝", "Rejected"),
    "data.count.warnings": ("警告(值被丢弃)", "Warnings (values dropped)"),
    "data.first_rejects": ("前 {n} 条被拒绝的行", "The first {n} rejected rows"),
    "data.download_rejects": ("下载全部被拒绝的行(CSV)", "Download every rejected row"),
    "data.download_warnings": ("下载全部警告(CSV)", "Download every warning (CSV)"),
    "data.rejects_help": (
        "被拒绝的行按原格式保存,并附 _row、_column、_reason 列;修正后可原样再次导入。",
        "Rejected rows keep the file's format, with _row, _column and _reason columns; fix "
        "them and import the file again as it is.",
    ),
    "data.error_of_job": ("错误", "Error"),
    "data.error.interrupted": (
        "服务进程在导入结束前停止;请重新上传,已导入的行会识别为未变。",
        "The server process stopped before the import ended; upload the file again (rows "
        "already imported are found unchanged).",
    ),
    "data.error.store_unavailable": (
        "导入期间数据库出错;请稍后重试,已导入的行会识别为未变。",
        "The store failed during the import; retry later (rows already imported are found "
        "unchanged).",
    ),
    "data.error.other": ("导入未完成:", "The import did not finish:"),
    "data.error.entity": ("请选择可导入的数据类型。", "Choose what to import the file as."),
    "data.error.file_name": (
        "文件名不可用:请用普通文件名(不含目录,不以点开头)上传。",
        "Refused file name: upload the file under a plain name (no folders, not starting "
        "with a dot).",
    ),
    "data.error.staged": (
        "找不到这次上传(可能已放弃或已导入),请重新上传。",
        "This upload is gone (discarded or already imported): upload the file again.",
    ),
    "data.back": ("返回数据导入", "Back to data import"),
    "data.history": ("导入记录", "Import history"),
    "data.history_count": (
        "共 {count} 个任务,显示最近 {shown} 个",
        "{count} jobs, the latest {shown} shown",
    ),
    "data.no_history": ("还没有导入任务。", "No import job yet."),
    "data.when": ("提交时间", "Submitted"),
    "data.who": ("提交人", "By"),
    "data.open": ("查看", "Open"),
    "data.scoring": ("计算评分", "Run scoring"),
    "data.scoring_help": (
        "导入后重新计算全部客户的评分(四度、RFM、价值分层、流失风险、CLV 等),"
        "保存为今天的快照,与命令 rapport score 相同。在后台运行,排在之前的导入之后;"
        "同一时间只运行一个评分任务。",
        "After an import, compute every customer's scores again (the four degrees, RFM, "
        "value tiers, churn risk, CLV …) and store them as today's snapshot, as the command "
        "rapport score does. It runs in the background, after the imports queued before "
        "it; one scoring job runs at a time.",
    ),
    "data.scoring_run": ("开始计算评分", "Run scoring"),
    "data.scoring_entity": ("评分", "Scoring"),
    "data.scoring_job_title": ("评分任务", "Scoring job"),
    "data.scoring_snapshot": ("{day} 的评分快照", "The snapshot of {day}"),
    "data.scoring_progress": ("评分进度", "Scoring progress"),
    "data.scoring_done": ("评分完成,用时 {seconds} 秒", "Scored in {seconds} s"),
    "data.scoring_failed": ("评分失败", "Scoring failed"),
    "data.scoring_running": (
        "正在评分:第 {n}/{of} 步,{step} … 已用 {seconds} 秒",
        "Scoring: step {n} of {of}, {step} … {seconds} s so far",
    ),
    "data.scoring_report": ("评分结果", "Scoring result"),
    "data.scoring_rows": ("已评分客户", "Customers scored"),
    "data.scoring_notes": ("未拟合的预测模型", "Predictive models not fitted"),
    "data.scoring_see_diamonds": ("查看钻石客户", "See the diamond customers"),
    "data.seconds": ("{n} 秒", "{n} s"),
    "data.step.copy": (
        "打开分析引擎并复制存储的数据",
        "opening the engine and copying the store's data",
    ),
    "data.step.models": ("拟合预测模型", "fitting the predictive models"),
    "data.step.purchase_summary": ("购买汇总", "purchase summary"),
    "data.step.purchase_and_spend_models": ("购买与消费模型", "purchase and spend models"),
    "data.step.churn_model": ("流失模型", "churn model"),
    "data.step.demand_model": ("需求模型", "demand model"),
    "data.step.compute": ("计算评分", "computing the scores"),
    "data.step.metrics": ("计算总览指标", "computing the overview's metrics"),
    "data.step.prepare": ("准备快照", "preparing the snapshot"),
    "data.step.write": ("写入快照", "writing the snapshot"),
    "data.step.reports": ("准备页面报表", "preparing the pages' reports"),
    "data.error.scoring_running": (
        "已有评分任务在排队或运行,请等它结束(见下方导入记录)。",
        "A scoring job is already queued or running: wait for it to end (see the import "
        "history below).",
    ),
}
