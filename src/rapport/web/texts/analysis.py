"""Texts of the 分析 Analysis page (``/analysis``)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.analysis": ("分析", "Analysis"),
    "analysis.title": ("分析", "Analysis"),
    "analysis.intro": (
        "公司指标按任意期间、粒度与分组查看,以及最新评分快照的分布与变动。",
        "The company's metrics over any period, granularity and group, and the latest score "
        "snapshot's distributions and movements.",
    ),
    "analysis.scope_team": (
        "快照图表仅含您团队的客户及未分配客户;指标为全公司数据。",
        "Snapshot charts cover your team's customers and the unowned; metrics are company-wide.",
    ),
    "analysis.scope_all": (
        "快照图表含全部客户;指标为全公司数据。",
        "Snapshot charts cover every customer; metrics are company-wide.",
    ),
    "analysis.snapshot": ("评分快照:{date}", "Score snapshot: {date}"),
    "analysis.compared": ("对比 {date}", "compared with {date}"),
    "analysis.loading": (
        "正在计算(首次可能需要几十秒)…",
        "Computing (the first time may take tens of seconds)…",
    ),
    "analysis.loading_part": ("正在加载…", "Loading…"),
    "analysis.failed": ("无法计算:{reason}", "Could not compute: {reason}"),
    "analysis.retry": ("重试", "Retry"),
    "analysis.none": (
        "尚无评分快照:请先运行 rapport score。",
        "No score snapshot yet: run rapport score first.",
    ),
    "analysis.table": ("表格", "Table"),
    "analysis.no_group": ("(无)", "(none)"),
    # explorer
    "analysis.explorer": ("指标浏览", "Metrics explorer"),
    "analysis.metric": ("指标", "Metric"),
    "analysis.period": ("期间", "Period"),
    "analysis.period_90d": ("最近90天", "Last 90 days"),
    "analysis.period_30d": ("最近30天", "Last 30 days"),
    "analysis.period_12m": ("最近12个月", "Last 12 months"),
    "analysis.period_24m": ("最近24个月", "Last 24 months"),
    "analysis.granularity": ("粒度", "Granularity"),
    "analysis.granularity_": ("整个期间", "Whole period"),
    "analysis.granularity_week": ("按周", "By week"),
    "analysis.granularity_month": ("按月", "By month"),
    "analysis.granularity_quarter": ("按季度", "By quarter"),
    "analysis.by": ("分组", "Segment"),
    "analysis.by_": ("不分组", "No segment"),
    "analysis.by_city": ("城市", "City"),
    "analysis.by_province": ("省份", "Province"),
    "analysis.by_country": ("国家", "Country"),
    "analysis.by_gender": ("性别", "Gender"),
    "analysis.by_source_channel": ("来源渠道", "Source channel"),
    "analysis.by_income_band": ("收入段", "Income band"),
    "analysis.by_occupation": ("职业", "Occupation"),
    "analysis.by_district": ("区县", "District"),
    "analysis.by_age_band": ("年龄段", "Age band"),
    "analysis.by_rfm_segment": ("RFM分群", "RFM segment"),
    "analysis.by_value_tier": ("价值分层", "Value tier"),
    "analysis.by_lifecycle_stage": ("生命周期阶段", "Lifecycle stage"),
    "analysis.show": ("查看", "Show"),
    "analysis.window": ("{start} 至 {end}(不含)", "{start} to {end} (exclusive)"),
    "analysis.definition": ("定义", "Definition"),
    "analysis.bucket": ("起始日", "Starting"),
    "analysis.numerator": ("分子", "Numerator"),
    "analysis.denominator": ("分母", "Denominator"),
    "analysis.value": ("值", "Value"),
    "analysis.metric_chart": ("{metric}图表", "Chart of {metric}"),
    "analysis.empty": ("此期间没有数据。", "No data in this period."),
    # cohorts
    "analysis.cohorts": ("同期群留存", "Cohort retention"),
    "analysis.cohorts_note": (
        "最近12个月内每月的首购客户,及其在之后各月仍有购买的比例。",
        "Buyers whose first purchase falls in each month of the last 12, and the share of "
        "them purchasing in each month after.",
    ),
    "analysis.cohort": ("同期群", "Cohort"),
    "analysis.cohort_size": ("首购客户", "First buyers"),
    "analysis.month_offset": ("首购后第几个月", "Months after the first purchase"),
    "analysis.month_n": ("第{n}月", "Month {n}"),
    "analysis.retention_share": ("留存比例", "Share retained"),
    "analysis.cohorts_chart": ("同期群留存热力图", "Cohort retention heatmap"),
    # snapshot
    "analysis.rfm_grid": ("RFM 网格", "RFM grid"),
    "analysis.rfm_note": (
        "每格:R 分(最近购买)× F 分(购买频次)的客户数与其 RFM 窗口内销售额。",
        "Each cell: the customers with that R score (recency) × F score (frequency) and their "
        "revenue in the RFM window.",
    ),
    "analysis.r_score": ("R 分", "R score"),
    "analysis.f_score": ("F 分", "F score"),
    "analysis.rfm_chart": ("RFM 网格热力图(客户数)", "RFM grid heatmap (customers)"),
    "analysis.groups_chart": (
        "{group}的客户占比与销售额占比",
        "{group}: customer and revenue shares",
    ),
    "analysis.moves": ("快照间变动", "Movements between snapshots"),
    "analysis.moves_note": (
        "从上一快照到最新快照改变分组的客户(未改变者不计)。",
        "Customers whose group changed from the previous snapshot to the latest (those "
        "unchanged are not counted).",
    ),
    "analysis.moves_by": ("变动依据", "Movements of"),
    "analysis.moves_none": ("两个快照之间没有变动。", "No movement between the two snapshots."),
    "analysis.moves_one": (
        "只有一个快照:需要两个快照才能比较。",
        "Only one snapshot: movements need two.",
    ),
    "analysis.moves_chart": ("变动桑基图", "Movements as a Sankey diagram"),
    "analysis.before": ("之前", "Before"),
    "analysis.after": ("之后", "After"),
    "analysis.from": ("从", "From"),
    "analysis.to": ("到", "To"),
    "analysis.clv": ("预测CLV分布", "Predicted CLV distribution"),
    "analysis.clv_note": (
        "按等宽区间统计的客户数及其预测CLV合计(区间含下限、不含上限)。",
        "Customers per bin of equal width and their predicted CLV summed (each bin includes "
        "its lower bound, not its upper).",
    ),
    "analysis.clv_range": ("区间", "Range"),
    "analysis.clv_sum": ("预测CLV合计", "Predicted CLV, summed"),
    "analysis.clv_none": (
        "该快照没有预测CLV(评分时未使用模型)。",
        "This snapshot has no predicted CLV (it was scored without the models).",
    ),
    "analysis.clv_chart": ("预测CLV分布直方图", "Histogram of the predicted CLV"),
    "analysis.correlations": ("四度之间的关系", "How the four degrees relate"),
    "analysis.correlations_note": (
        "最新快照中各项得分两两之间的皮尔逊相关系数(−1 至 1;越接近 1 越同向变化),"
        "只计两项均有值的客户。",
        "Pearson's correlation of each pair of scores in the latest snapshot (−1 to 1; the "
        "closer to 1, the more they rise together), over the customers with both.",
    ),
    "analysis.correlations_chart": ("相关系数热力图", "Correlation heatmap"),
    "analysis.correlation": ("相关系数", "Correlation"),
    "analysis.chain": ("四度链条", "The chain of the four degrees"),
    "analysis.chain_note": (
        "满意度 → 忠诚度 → 参与度 → 推荐度:每一环中前一度高分(最新快照的前四分之一)客户里,"
        "下一度也高分的比例,与全部客户中下一度高分的基准比例对比;提升大于 1 表示这一环成立。",
        "Satisfaction → loyalty → engagement → advocacy: of the customers high on one degree "
        "(its top quarter in the latest snapshot), the share also high on the next, against "
        "the base rate of all customers high on the next; a lift above 1 means the link holds.",
    ),
    "analysis.chain_diagram": ("四度链条图", "Diagram of the chain"),
    "analysis.chain_lift": ("提升 {lift}", "lift {lift}"),
    "analysis.chain_share": ("{share}(基准 {base})", "{share} (base {base})"),
    "analysis.chain_holds": ("成立", "holds"),
    "analysis.chain_weak": ("不成立", "does not hold"),
    "analysis.chain_customers": ("两度均有值的客户", "Customers with both"),
    "analysis.clusters": ("行为聚类", "Behavioural clusters"),
    "analysis.clusters_note": (
        "最新快照全部客户按标准化行为(最近购买、频次、金额、满意度、参与度、推荐度、客户时长)"
        "做 k 均值聚类,与 rapport clusters 相同;特征列出均值偏离超过 0.5 个标准差的项。",
        "Every customer of the latest snapshot clustered by k-means on standardized behaviour "
        "(recency, frequency, monetary, satisfaction, engagement, advocacy, tenure), as "
        "rapport clusters does; the features listed are those whose mean lies beyond 0.5 "
        "standard deviations.",
    ),
    "analysis.clusters_criterion": (
        "k = {k}:按{criterion}选择(取值 {score},在 {sample} 位客户的样本上计算;"
        "共 {customers} 位客户)。",
        "k = {k}, chosen by the {criterion} ({score}, computed on a sample of {sample} "
        "customers; {customers} customers in all).",
    ),
    "analysis.criterion_silhouette": ("轮廓系数", "silhouette"),
    "analysis.clusters_candidates": ("各候选 k 的轮廓系数:", "Silhouette of each candidate k:"),
    "analysis.clusters_chosen": ("选中", "chosen"),
    "analysis.clusters_excluded": (
        "未采用:只区分了有无购买",
        "left out: it only splits buyers from non-buyers",
    ),
    "analysis.clusters_none": (
        "无法聚类:没有评分快照或可区分的客户太少。",
        "No clusters: no score snapshot, or too few distinct customers.",
    ),
    "analysis.cluster_n": ("第 {n} 类", "Cluster {n}"),
    "analysis.cluster_z": ("均值 z 分数", "Mean z-score"),
    "analysis.clusters_chart": (
        "各类各特征均值 z 分数热力图",
        "Heatmap of each cluster's mean z-score per feature",
    ),
    "analysis.clusters_demographics": (
        "各类的人口特征(占该类客户的比例)",
        "Each cluster's demographics (share of its customers)",
    ),
    "analysis.accuracy": ("模型准确度", "Model accuracy"),
    "analysis.accuracy_note": (
        "回测:在留出期之前校准模型,再与留出期内实际发生的情况比较。",
        "A backtest calibrates the models before a holdout and compares them with what "
        "happened in it.",
    ),
    "analysis.accuracy_backtest": (
        "系统未保存回测结果:回测耗时较长,以命令运行并生成 HTML 报告:",
        "No backtest is stored: a backtest takes long, so it runs as a command and writes "
        "an HTML report:",
    ),
    "analysis.accuracy_fits": ("已保存的最新模型拟合", "The latest saved model fits"),
    "analysis.accuracy_none": ("尚未保存任何模型:请先运行", "No model is saved yet: run"),
    "analysis.model": ("模型", "Model"),
    "analysis.fitted_at": ("拟合时间", "Fitted at"),
    "analysis.data_as_of": ("数据截至", "Data as of"),
    "analysis.model_rows": ("客户数", "Customers"),
    "analysis.log_likelihood": ("对数似然", "Log-likelihood"),
    "analysis.model.mbgnbd": ("MBG/NBD 购买模型", "MBG/NBD purchase model"),
    "analysis.model.bgnbd": ("BG/NBD 购买模型", "BG/NBD purchase model"),
    "analysis.model.paretonbd": ("Pareto/NBD 购买模型", "Pareto/NBD purchase model"),
    "analysis.model.gammagamma": ("Gamma-Gamma 消费金额模型", "Gamma-Gamma spend model"),
    "analysis.model.churn": ("流失预警模型", "Churn early-warning model"),
    "analysis.model.demand": ("品类需求预测", "Category demand forecaster"),
    # metric definitions (docs/metrics.md)
    "analysis.def.customers_start": (
        "期初前一个活跃窗口内有购买的客户数。",
        "Buyers with a purchase in the activity window before the period's start.",
    ),
    "analysis.def.customers_end": (
        "期末前一个活跃窗口内有购买的客户数。",
        "Buyers with a purchase in the activity window before the period's end.",
    ),
    "analysis.def.customers_new": (
        "首次购买发生在期间内的客户数。",
        "Buyers whose first purchase falls in the period.",
    ),
    "analysis.def.retention_rate": (
        "(期末客户 − 新增客户)÷ 期初客户 × 100。",
        "(customers at end − new customers) ÷ customers at start × 100.",
    ),
    "analysis.def.cohort_retention": (
        "期初客户中期末仍活跃者 ÷ 期初客户 × 100。",
        "Customers at start still active at the end ÷ customers at start × 100.",
    ),
    "analysis.def.churn_rate": (
        "期初客户中期末不再活跃者 ÷ 期初客户 × 100。",
        "Customers at start no longer active at the end ÷ customers at start × 100.",
    ),
    "analysis.def.customer_growth_rate": (
        "(期末客户 − 期初客户)÷ 期初客户 × 100。",
        "(customers at end − customers at start) ÷ customers at start × 100.",
    ),
    "analysis.def.repurchase_rate": (
        "期间内购买两次及以上的客户 ÷ 期间内有购买的客户 × 100。",
        "Buyers with two or more purchases in the period ÷ buyers in the period × 100.",
    ),
    "analysis.def.purchase_frequency": (
        "期间内购买次数 ÷ 期间内有购买的客户数。",
        "Purchases in the period ÷ buyers in the period.",
    ),
    "analysis.def.average_order_value": (
        "期间内购买的净销售额 ÷ 购买次数。",
        "Net revenue of the period's purchases ÷ purchases.",
    ),
    "analysis.def.conversion_rate": (
        "期间内创建且在期末前转化的线索 ÷ 期间内创建的线索 × 100。",
        "Leads created in the period and converted before its end ÷ leads created × 100.",
    ),
    "analysis.def.nps": (
        "每位客户期间内最新的 NPS 回答:推荐者(9–10)占比 − 贬损者(0–6)占比。",
        "Each customer's latest NPS answer in the period: % promoters (9–10) − % detractors (0–6).",
    ),
    "analysis.def.csat": (
        "期间内 CSAT 回答中落在量表最高两档的比例 × 100。",
        "CSAT answers in the period in the top two points of their scale ÷ answers × 100.",
    ),
    "analysis.def.satisfaction_index": (
        "期间内 CSAT 回答的归一化平均分(0–100)。",
        "Mean normalized score (0–100) of the period's CSAT answers.",
    ),
    "analysis.def.complaint_rate": (
        "期间内有投诉工单的客户 ÷ 期末客户 × 100。",
        "Customers with a complaint ticket opened in the period ÷ customers at end × 100.",
    ),
    "analysis.def.interaction_frequency": (
        "期间内互动次数 ÷ 期末客户 ÷ 期间月数。",
        "Interactions in the period ÷ customers at end ÷ months in the period.",
    ),
    "analysis.def.email_open_rate": (
        "期间内发送并送达的邮件中被打开的比例 × 100。",
        "E-mails sent in the period and delivered that were opened ÷ delivered × 100.",
    ),
    "analysis.def.email_click_rate": (
        "期间内发送并送达的邮件中被点击的比例 × 100。",
        "E-mails sent in the period and delivered that were clicked ÷ delivered × 100.",
    ),
    "analysis.def.referral_rate": (
        "期间内至少推荐一次的客户 ÷ 期末客户 × 100。",
        "Customers who referred at least once in the period ÷ customers at end × 100.",
    ),
    "analysis.def.first_response_time": (
        "期间内开出的工单从开出到首次响应的小时数中位数。",
        "Median hours from opening to first response, tickets opened in the period.",
    ),
    "analysis.def.resolution_time": (
        "期间内开出的工单从开出到解决的小时数中位数。",
        "Median hours from opening to resolution, tickets opened in the period.",
    ),
    "analysis.def.sla_attainment": (
        "期间内到期的工单中响应与解决均达标者 ÷ 到期工单 × 100。",
        "Tickets due in the period meeting their response and resolution targets ÷ tickets "
        "due × 100.",
    ),
    "analysis.def.perceived_value": (
        "期间内感知价值回答的归一化平均分。",
        "Mean normalized score of the period's perceived-value answers.",
    ),
    "analysis.def.expectation_gap": (
        "各客户(CSAT 归一化均分 − 预期归一化均分)的平均值。",
        "Mean over customers of (mean normalized CSAT − mean normalized expectation).",
    ),
    "analysis.def.clv_simple": (
        "客单价 × 年化购买频次 × 预期留存年数(按近一年流失率,最多10年)× 毛利率。",
        "Average order value × yearly purchase frequency × expected years (from the last "
        "year's churn, at most 10) × gross margin.",
    ),
    "analysis.def.relationship_depth": (
        "期末客户关系深度的平均值:客龄、购买频次、跨品类、联系强度与渠道广度的加权平均。",
        "Mean depth of the customers at end: a weighted mean of tenure, purchase frequency, "
        "cross-buying, contact intensity and channel breadth.",
    ),
    "analysis.def.maintenance_cost": (
        "期间内互动、工单、营销投递与积分兑换按单位成本计算的合计。",
        "Interactions, tickets, deliveries and points redeemed in the period at their unit "
        "costs, summed.",
    ),
    "analysis.def.maintenance_cost_per_customer": (
        "客户维护成本 ÷ 期末客户。",
        "Maintenance cost ÷ customers at end.",
    ),
    "analysis.def.cost_to_serve_ratio": (
        "客户维护成本 ÷ 期间内购买的净销售额 × 100。",
        "Maintenance cost ÷ net revenue of the period's purchases × 100.",
    ),
    "analysis.def.social_share_rate": (
        "期间内有社交分享或社交渠道互动的客户 ÷ 期末客户 × 100。",
        "Customers with a social share or a social-channel interaction in the period ÷ "
        "customers at end × 100.",
    ),
    "analysis.def.social_interactions_per_customer": (
        "期间内社交分享与社交渠道互动次数 ÷ 期末客户。",
        "Social shares and social-channel interactions in the period ÷ customers at end.",
    ),
}
