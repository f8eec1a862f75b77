"""Texts of the tables' downloads (:mod:`rapport.web.views.exports`) and of the charts'
image download (``web.js``)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "exports.label": ("导出全部结果：", "Download all results:"),
    "exports.csv": ("CSV", "CSV"),
    "exports.xlsx": ("Excel", "Excel"),
    "exports.csv_title": (
        "下载为 CSV(UTF-8,可用 Excel 打开),最多 {count} 行",
        "Download as CSV (UTF-8, opens in Excel), at most {count} rows",
    ),
    "exports.xlsx_title": (
        "下载为 Excel 工作簿(.xlsx),最多 {count} 行",
        "Download as an Excel workbook (.xlsx), at most {count} rows",
    ),
    "exports.cut": (
        "仅导出前 {count} 行:结果多于此数,请用筛选缩小范围后再导出",
        "Only the first {count} rows were exported: there are more; narrow the list with "
        "the filters and export again",
    ),
    "exports.not_contacted": ("未联系的客户", "Customers not contacted"),
    "exports.from_value": ("下限（含）", "From (inclusive)"),
    "exports.below_value": ("上限（不含）", "Below"),
    "exports.diamonds": ("钻石客户数", "Diamond customers"),
    "exports.users": ("用户", "Users"),
    "exports.tier_before": ("上一快照等级", "Tier before"),
    "exports.tier_after": ("最新快照等级", "Tier now"),
    "exports.degree_x": ("指标一", "First"),
    "exports.degree_y": ("指标二", "Second"),
    "exports.pearson_r": ("相关系数 r", "Correlation r"),
    "exports.at_risk_list": ("流失风险客户", "Customers at risk"),
    "exports.at_risk": ("需关注", "At risk"),
    "exports.due_kind": ("到期目标", "Due for"),
    "exports.headline": ("公司指标", "Company metrics"),
    "exports.metric": ("指标", "Metric"),
    "exports.unit": ("单位", "Unit"),
    "exports.value": ("本期", "This period"),
    "exports.previous": ("上期", "Previous period"),
    "exports.change": ("变化", "Change"),
    "exports.unit_count": ("个", "count"),
    "exports.unit_currency": ("元", "yuan"),
    "exports.unit_percent": ("%(0–100)", "% (0–100)"),
    "exports.unit_score": ("分", "score"),
    "exports.unit_hours": ("小时", "hours"),
    "exports.unit_per_month": ("每月", "per month"),
    "exports.unit_ratio": ("比值", "ratio"),
    "exports.save_image": ("保存为图片(PNG)", "Save as image (PNG)"),
}
