"""Texts of the overview page 总览 (``/overview``)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.overview": ("总览", "Overview"),
    "overview.title": ("总览", "Overview"),
    "overview.scope_all": ("全部客户", "All customers"),
    "overview.scope_team": (
        "您团队的客户和无负责人的客户",
        "Your team's customers and the unowned ones",
    ),
    "overview.snapshot": ("评分快照 {date}", "Score snapshot of {date}"),
    "overview.snapshot_compared": ("对比上一快照 {date}", "compared with the snapshot of {date}"),
    "overview.no_snapshot": (
        "尚无评分快照:运行 rapport score 生成后,"
        "这里会显示四度、价值分层、钻石客户、生命周期和风险价值。",
        "No score snapshot yet: once rapport score has written one, the four degrees, value "
        "tiers, diamonds, lifecycle stages and value at risk appear here.",
    ),
    "overview.one_snapshot": (
        "只有一个评分快照,暂无变化可比较。",
        "Only one score snapshot so far: nothing to compare with yet.",
    ),
    "overview.definition": ("定义", "Definition"),
    "overview.not_measured": ("未测得", "not measured"),
    # the company's metrics (lazy)
    "overview.metrics": ("公司指标", "Company metrics"),
    "overview.metrics_note": (
        "全公司口径:{period},截至 {date};与之前同等长度的期间对比。",
        "Company-wide: {period} to {date}; compared with the period of the same length before.",
    ),
    "overview.period": ("期间", "Period"),
    "overview.period_30d": ("近30天", "Last 30 days"),
    "overview.period_90d": ("近90天", "Last 90 days"),
    "overview.period_12m": ("近12个月", "Last 12 months"),
    "overview.show": ("显示", "Show"),
    "overview.loading": ("正在计算指标…", "Computing the metrics…"),
    "overview.loading_part": ("正在加载…", "Loading…"),
    "overview.metrics_failed": (
        "指标暂时无法计算:{reason}",
        "The metrics could not be computed: {reason}",
    ),
    "overview.retry": ("重试", "Retry"),
    "overview.previous": ("上期 {value}", "previous {value}"),
    "overview.up": ("较上期上升", "up on the previous period"),
    "overview.down": ("较上期下降", "down on the previous period"),
    "overview.same": ("与上期持平", "same as the previous period"),
    "overview.points": ("{value} 个百分点", "{value} pts"),
    "overview.better": ("向好", "better"),
    "overview.worse": ("变差", "worse"),
    "overview.sparkline": ("{metric}近12个月走势", "{metric}, last 12 months"),
    "overview.trends": ("留存、流失、NPS 与 CSAT 走势", "Retention, churn, NPS and CSAT"),
    "overview.trends_table": ("各月数值", "Values per month"),
    "overview.month": ("月份", "Month"),
    "overview.computed": (
        "计算于 {time}(缓存 {minutes} 分钟)",
        "Computed at {time} (kept for {minutes} minutes)",
    ),
    # definitions of the metrics shown (docs/metrics.md)
    "overview.def.customers_end": (
        "期末客户数 E:期末前一个活跃窗口(默认365天)内有购买的客户数。",
        "Customers at end E: buyers with a purchase in the activity window (365 days by "
        "default) before the end of the period.",
    ),
    "overview.def.customers_new": (
        "新增客户数 N:首次购买落在本期内的客户数。",
        "New customers N: buyers whose first purchase falls in the period.",
    ),
    "overview.def.retention_rate": (
        "客户留存率 = (期末客户数 E − 新增客户数 N)÷ 期初客户数 S × 100。",
        "Retention rate = (customers at end E − new customers N) ÷ customers at start S × 100.",
    ),
    "overview.def.churn_rate": (
        "客户流失率 = 期初活跃、期末不再活跃的客户数 ÷ 期初客户数 S × 100。",
        "Churn rate = customers active at the start and no longer active at the end "
        "÷ customers at start S × 100.",
    ),
    "overview.def.repurchase_rate": (
        "复购率 = 本期购买2次及以上的客户数 ÷ 本期有购买的客户数 × 100。",
        "Repurchase rate = buyers with 2 or more purchases in the period ÷ buyers with one or "
        "more × 100.",
    ),
    "overview.def.average_order_value": (
        "客单价 = 本期已完成订单的净销售额 ÷ 订单数。",
        "Average order value = net revenue of the period's completed orders ÷ their number.",
    ),
    "overview.def.nps": (
        "净推荐值 = 推荐者(9–10分)占比 − 贬损者(0–6分)占比,"
        "每位客户取本期最近一次 NPS 回答;范围 −100 到 100。",
        "Net Promoter Score = % promoters (9–10) − % detractors (0–6), over each customer's "
        "latest NPS answer in the period; −100 to 100.",
    ),
    "overview.def.csat": (
        "客户满意度 = 本期满意度回答中落在量表最高两档(1–5分制为4–5分)的占比 × 100。",
        "CSAT = share of the period's satisfaction answers in the top two points of their "
        "scale (4–5 on 1–5) × 100.",
    ),
    # the snapshot figures
    "overview.relationships": ("客户关系", "Relationships"),
    "overview.scored": ("已评分客户", "Scored customers"),
    "overview.def.scored": (
        "最新评分快照中、您可查看的未删除客户数。",
        "Customers you may see, not deleted, in the latest score snapshot.",
    ),
    "overview.def.relationship_index": (
        "关系指数:满意度、忠诚度、参与度、推荐度的加权平均(0–100,缺失项跳过),此处为客户平均值。",
        "Relationship index: the weighted mean of satisfaction, loyalty, engagement and "
        "advocacy (0–100, missing ones skipped), averaged over the customers.",
    ),
    "overview.vs_previous": ("较上一快照 {value}", "{value} on the previous snapshot"),
    "overview.degrees_trend": ("四度与关系指数走势", "The four degrees and the relationship index"),
    "overview.degrees_note": (
        "每个评分快照的客户平均值(0–100)。",
        "Mean over the customers of each score snapshot (0–100).",
    ),
    "overview.snapshot_date": ("快照日期", "Snapshot"),
    # tiers
    "overview.tiers": ("价值分层", "Value tiers"),
    "overview.tiers_chart": (
        "各价值等级的客户数与销售额(金字塔)",
        "Customers and revenue per value tier (pyramid)",
    ),
    "overview.def.tiers": (
        "价值等级来自最新评分快照(钻石/黄金/白银/青铜);销售额为 RFM 窗口内的消费额。",
        "Value tiers of the latest score snapshot (diamond, gold, silver, bronze); revenue "
        "is the RFM window's revenue.",
    ),
    "overview.no_tier": ("未分层", "No tier"),
    "overview.no_stage": ("无阶段", "No stage"),
    # diamonds
    "overview.diamonds": ("钻石客户", "Diamond customers"),
    "overview.def.diamonds": (
        "钻石客户:贡献最高、忠诚度和满意度高、流失风险低、互动多的少数客户(阈值见业务规则)。",
        "Diamond customers: the few with the highest contribution, high loyalty and "
        "satisfaction, low churn risk and frequent interaction (thresholds in the business "
        "rules).",
    ),
    "overview.gained": ("新晋钻石", "Became diamond"),
    "overview.lost": ("不再是钻石", "No longer diamond"),
    "overview.moves_note": ("自上一快照 {date} 以来", "since the snapshot of {date}"),
    "overview.from_to": ("{before} → {after}", "{before} → {after}"),
    "overview.top_diamonds": ("销售额最高的钻石客户", "Diamonds with the highest revenue"),
    "overview.none": ("无", "None"),
    "overview.more": ("另有 {count} 位", "and {count} more"),
    "overview.not_scored": ("无快照", "not scored"),
    # stages
    "overview.stages": ("生命周期阶段", "Lifecycle stages"),
    "overview.stages_chart": ("各生命周期阶段的客户数", "Customers per lifecycle stage"),
    "overview.def.stages": (
        "客户在最新评分快照中的生命周期阶段;"
        "销售额为 RFM 窗口内的消费额,关系指数为该阶段客户的平均值。",
        "The customers' lifecycle stage in the latest score snapshot; revenue is the RFM "
        "window's revenue, the relationship index the stage's mean.",
    ),
    # value at risk
    "overview.var": ("风险价值", "Value at risk"),
    "overview.def.var": (
        "风险价值 = Σ 流失风险 × 预测CLV,对同时有两者的客户求和(与流失预警的排序口径相同)。",
        "Value at risk = Σ churn risk × predicted CLV over the customers with both (the "
        "measure the churn warnings are ordered by).",
    ),
    "overview.var_share": ("占预测CLV {share}", "{share} of the predicted CLV"),
    "overview.var_at_risk": (
        "流失风险 ≥ {risk} 的客户 {count} 位,风险价值 {value}",
        "{count} customers with a churn risk of {risk} or more, value at risk {value}",
    ),
    # the monthly report (a download, rapport.reports.monthly)
    "overview.report": ("月度客户关系报告", "Monthly report"),
    "overview.report_month": ("月份", "Month"),
    "overview.report_format": ("格式", "Format"),
    "overview.report_download": ("下载报告", "Download the report"),
    "overview.report_failed": (
        "无法生成月度报告：{reason}",
        "The monthly report could not be made: {reason}",
    ),
    "overview.back": ("返回总览", "Back to the overview"),
    "overview.var_valued": (
        "{count} 位客户有预测CLV与流失风险",
        "{count} customers have a predicted CLV and a churn risk",
    ),
}
