"""``--help`` in Chinese: the texts ``rapport … --help`` shows under ``locale = "zh_CN"``.

The English help stays in the code (command docstrings, ``help=`` of options and
arguments). :data:`COMMANDS` gives the Chinese help of each command, keyed by its path
(``""`` for ``rapport`` itself, ``"models fit"``); its first paragraph is the command's line
in its group's listing. :data:`PARAMETERS` gives the Chinese help of options and arguments,
keyed by their English help: an option shared by many commands (``--as-of``, ``--format``)
is translated once, and a changed English text no longer finds a stale translation.
:data:`HELP_TERMS` are the words of the help screens themselves (panel titles, default,
required). ``rapport.cli.lazy`` applies them when the commands are built; a test walks every
command and option and fails on a missing translation or one left over.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "": "Rapport（客情）：客户关系智能。",
    "serve": "运行 REST API（OpenAPI 与交互式文档在 /docs）。",
    "import": "把 FILE 作为 ENTITY 导入：逐行校验、可重复执行，每一行都有交代。",
    "sample": "样例公司：合成数据（有文档的潜变量模型）或真实的 CDNOW 数据。",
    "demo": "用内置默认设置跑一遍主流程：创建数据库、生成样例公司、导入，并展示 Rapport "
    "从中得出的结论。",
    "export": "把数据库的标准表写成 Parquet（不带时区的 UTC 时间，金额为浮点数）。",
    "metrics": "各项指标及其输入（分子、分母），可按定义编号追溯到指标定义文档。",
    "cohorts": "同期群留存：按首次购买月份分组的购买客户，以及此后每个月再次购买的占比。",
    "funnel": "期间内新建线索的转化漏斗：转化为客户、首次购买、复购。",
    "score": "计算每位客户截至某个本地日期结束时的评分（默认：有数据的最后一天，或今天），"
    "并存为该日期的快照（替换该日期原有的快照，其他日期保留）。\n\n"
    "不指定 --as-of 时按今天评分；但如果数据库中的订单、行为事件、互动、工单和问卷回答都在"
    "今天之前结束（从导出文件导入的数据），则按有数据的最后一天评分，并会说明。",
    "customer": "客户 360 视图：基本资料、时间线、客户四度及其构成、RFM、价值分层及原因、"
    "生命周期阶段、与上一次快照相比的变化。\n\n"
    "CUSTOMER 是内部 ID 或企业自己的客户编号（外部编号）：等于某个内部 ID 的数字即为该客户"
    "（除非加 --external），其他一律按客户编号查找。卡片显示联系方式、生日、营销许可和预测"
    "（客户终身价值及其区间、存活概率、流失风险及各原因的方向）。",
    "segments": "某次快照的 RFM 分群：人数、销售额占比、四度均值。",
    "tiers": "某次快照的价值分层：人数、销售额占比、四度均值。",
    "stages": "某次快照的生命周期阶段：人数、销售额占比、四度均值。",
    "diamonds": "某次快照的钻石客户，按窗口内销售额从高到低，附上使其成为钻石客户的各项条件。",
    "clusters": "某次快照的行为聚类（对标准化后的行为做 k-means，k 取 2..8 中轮廓系数最佳者）："
    "各聚类的人数、占比和区别特征，以及其客户的年龄段、性别、城市和收入段分布。",
    "relations": "某次快照中客户四度之间的关系：相关系数矩阵；以及沿着满意度 → 忠诚度 → "
    "参与度 → 推荐度，每一度的高分客户中下一度也高的占比，与基准比例对照。\n\n"
    "--format json：相关系数（每对一条）和高分链；--format csv：相关系数。",
    "movements": "谁在两次快照之间换了价值分层、生命周期阶段或分群（默认：最近两次）。",
    "models": "预测模型：客户终身价值（BG/NBD、Pareto/NBD、Gamma-Gamma）、流失、需求。",
    "models fit": "拟合截至某个本地日期结束时的购买、消费金额、流失和需求模型（默认：今天），"
    "并作为新版本存入模型库。",
    "models show": "显示已保存的模型：参数及其区间、数据、配置。",
    "models backtest": "回测模型：在留出期之前校准，与实际发生的情况比较。",
    "demand": "各商品品类的需求预测：未来几周的订单数，来自 `rapport models fit` 保存的模型。",
    "clv": "预测客户终身价值最高的客户（取自最新快照）。",
    "at-risk": "流失预警：先联系谁（按风险价值排序），以及原因。",
    "report": "月度客户关系报告：本月有哪些变化、涉及哪些客户、与上月相比如何，"
    "输出为 PDF、HTML 或 XLSX 文件。\n\n"
    "该月须有评分快照（取其中最新的一个），与该月之前最近的快照对比；"
    "指标按自然月及其上一个月计算。",
    "loyalty": "会员积分：按规则从订单获得积分、奖励积分，以及积分过期。",
    "loyalty post": "按规则为每笔订单入账积分，并扣回已取消或退款订单获得的积分；"
    "再次运行不会重复入账。",
    "loyalty bonuses": "发放 [loyalty.bonuses] 中当前应发的奖励积分：入会礼、生日月、首次复购、"
    "推荐；每项只发一次，只针对最近 window_days 天内发生的事件。",
    "loyalty rewards": "奖励目录：积分能兑换什么、需要多少积分、剩余库存。",
    "loyalty reward": "在奖励目录中添加奖励，或修改代码为 CODE 的奖励。",
    "loyalty redeem": "为客户兑换奖励：扣除积分并发放兑换券；标准输出只打印兑换券代码。",
    "loyalty use": "将兑换券标记为已使用（每张兑换券只能使用一次）。",
    "loyalty expire": "为超过 [loyalty] points_expire_days 的每一笔积分记过期（最早的积分先过期）；"
    "再次运行不会重复记账。",
    "loyalty expiring": "某位客户的积分何时过期（消费先用最早的积分）。",
    "loyalty report": "会员计划是否有效？会员与可比非会员（按入会前的行为匹配）在留存、购买次数、"
    "客单价和客户价值上的差异及 95% 区间；参与率、兑换率、积分过期率、积分负债；按月的会员等级。",
    "loyalty tiers": "评定每位会员的会员等级：达标立即升级，降级只在复核日且宽限期过后；"
    "再次运行不会再改变什么。",
    "loyalty tier": "某位会员的会员等级：起始日、下次复核、滚动窗口内的定级依据、"
    "距下一等级还差多少，以及等级礼遇。",
    "outbox": "发件箱：待发送、已发送、重试中或已成死信的消息。",
    "outbox list": "发件箱中的消息，最新的在前，附状态、尝试次数和最近的错误。",
    "outbox stats": "按渠道和状态统计消息数，以及当前待发送的数量。",
    "outbox retry": "重新发送一条死信（先排除其原因），尝试次数重新计算。",
    "outbox send": "立即发送当前到期的消息，一次（工作进程会持续这样做）。",
    "worker": "在配置的时间运行每日流程，并发送发件箱中的消息。\n\n"
    "各步骤（评分、剧本、预警、任务过期、消息）每个本地日期在规则的 schedule.daily_at "
    "运行一次；错过的日期按顺序补跑；同一时间只有一个进程运行。",
    "playbooks": "行动手册：触发 → 目标人群 → 资格 → 动作 → 成效，每天自动运行，"
    "并以留出组衡量其效果。",
    "playbooks list": "所有行动手册，按优先级：是否启用、触发条件、动作和已纳入人数。",
    "playbooks show": "某个行动手册的定义（JSON）及其各个版本。",
    "playbooks run": "为某一天运行所有已启用的行动手册，然后衡量成效窗口已结束的纳入记录。",
    "playbooks effect": "各行动手册已衡量的效果：执行组对比留出组，附 95% 区间。",
    "users": "员工账号（角色、密码）和供系统集成使用的 API 令牌。",
    "users add": "创建员工账号（密码通过提示输入，从不作为参数）。",
    "users passwd": "设置或重置账号密码（提示输入两次，或从标准输入读取）。",
    "users list": "所有账号及其角色、团队、状态和 API 令牌。",
    "users disable": "停用账号：不能再登录，其 API 令牌失效；历史记录保留。",
    "users unlock": "解除登录锁定：清除某个账号、某个地址或两者的登录失败记录。",
    "users token": "为用户签发 API 令牌；密钥只显示这一次——请立即保存。",
    "users revoke": "吊销 API 令牌：此后它一律返回 401。",
    "audit": "审计日志，最新的在前：谁在何时、从何处对哪条记录做了什么。",
    "init": "创建数据库，或把它迁移到当前的结构版本。",
    "status": "各表行数和结构版本（没有数据库时退出码为 4）。",
    "config": "显示生效的配置。",
    "config show": "打印生效的设置和业务规则（密钥已遮蔽）。",
    "tasks": "员工任务：电话、拜访、礼品——列出、完成、跳过、新增、过期。",
    "tasks list": "任务列表，最早到期的在前，分页显示（--after：上一页给出的游标）。",
    "tasks done": "把一个待办任务标为完成，并记下通话结果和备注。",
    "tasks skip": "跳过一个待办任务，并说明原因。",
    "tasks add": "手工新增任务，交给一位员工（--assignee）或一个团队的队列（--team）；"
    "两者都不给时交给 --by 指定的员工。",
    "tasks expire": "把到期超过 [tasks] expire_after_days 天仍未完成的待办任务标为已过期。",
    "alerts": "员工告警：每天发出、确认、解决。",
    "alerts list": "告警列表，最新发出的在前，分页显示。",
    "alerts ack": "确认一条告警：已有人在处理。",
    "alerts resolve": "解决一条告警（其情况再次出现时会自动重新打开）。",
    "alerts run": "发出某一天的告警，自动解决情况已消失的告警，并把新告警的消息放入发件箱；"
    "再次运行不会发出新的告警。",
}

PARAMETERS: dict[str, str] = {
    # rapport
    "Print the version.": "显示版本。",
    # rapport outbox, rapport worker
    "Only messages in this state.": "只显示此状态的消息。",
    "Only messages of this channel.": "只显示此渠道的消息。",
    "Start below this message id (the next page).": "从此消息编号之下开始（下一页）。",
    "The message's id (`rapport outbox list`).": "消息编号（见 `rapport outbox list`）。",
    "Send at most this many messages.": "最多发送这么多条消息。",
    "Run what is due now (and send messages), then exit.": (
        "运行当前到期的内容（并发送消息），然后退出。"
    ),
    "Run the pipeline of this local day, e.g. 2026-03-02.": (
        "运行这个本地日期的每日流程，例如 2026-03-02。"
    ),
    "Catch up at most this many missed days (default: schedule.catch_up_days).": (
        "最多补跑这么多个错过的日期（默认：schedule.catch_up_days）。"
    ),
    "Seconds to wait when another process runs it.": "另一个进程正在运行时等待的秒数。",
    "Also run the worker in this process: the daily pipeline and the messages.": (
        "在本进程中同时运行工作进程：每日流程和消息发送。"
    ),
    "table (for people) or json (for scripts).": "table（给人看）或 json（给脚本用）。",
    # rapport report
    "The month, e.g. 2026-11.": "月份，例如 2026-11。",
    "pdf, html or xlsx.": "pdf、html 或 xlsx。",
    "File to write (default: rapport-monthly-MONTH.FORMAT).": (
        "写入的文件（默认：rapport-monthly-月份.格式）。"
    ),
    "zh_CN or en (default: RAPPORT_LOCALE).": "zh_CN 或 en（默认：RAPPORT_LOCALE）。",
    "Show tracebacks on errors.": "出错时显示调用栈。",
    # shared by the report commands
    "Analytics engine: duckdb, postgres, parquet or spark (default: RAPPORT_ENGINE).": (
        "分析引擎：duckdb、postgres、parquet 或 spark（默认：RAPPORT_ENGINE）。"
    ),
    "table (for people), json or csv (for scripts).": "table（给人看），json 或 csv（给脚本用）。",
    "Snapshot date (local), e.g. 2024-12-31.": "快照日期（本地），例如 2024-12-31。",
    "Machine-readable output.": "输出机器可读的格式。",
    "Same as --format json.": "等同于 --format json。",
    "Rows to show.": "显示的行数。",
    # rapport playbooks
    "The business day (local; default today).": "业务日期（本地；默认今天）。",
    "Write nothing; print what the run would do.": "不写入任何数据；只显示运行会做什么。",
    "The playbook's code (rapport playbooks list).": "行动手册代码（见 rapport playbooks list）。",
    "One playbook (default: all).": "某一个行动手册（默认：全部）。",
    "First run day counted.": "计入的第一个运行日。",
    "Last run day counted.": "计入的最后一个运行日。",
    # serve
    "Interface to listen on.": "监听的网络接口。",
    "Port to listen on.": "监听的端口。",
    "Trust X-Forwarded-For from the proxy in front (client addresses in the audit).": (
        "信任前置代理的 X-Forwarded-For（审计日志中的客户端地址）。"
    ),
    # import
    "One of: users, customers, leads, products, campaigns, orders, order_items, events, "
    "interactions, tickets, survey_responses, referrals, campaign_deliveries, "
    "loyalty_ledger.": (
        "以下之一：users、customers、leads、products、campaigns、orders、order_items、events、"
        "interactions、tickets、survey_responses、referrals、campaign_deliveries、"
        "loyalty_ledger。"
    ),
    "CSV/TSV, XLSX, Parquet or JSON Lines file.": "CSV/TSV、XLSX、Parquet 或 JSON Lines 文件。",
    "TOML file: [columns] header = field; [values] field = one value for all rows.": (
        "TOML 文件：[columns] 表头 = 字段；[values] 字段 = 所有行共用的值。"
    ),
    "XLSX sheet (default all).": "XLSX 工作表（默认全部）。",
    "Check only; write nothing.": "只检查，不写入任何数据。",
    "Reject rows with a bad optional value too (instead of dropping the value with a "
    "warning), and exit 2 if any row is rejected.": (
        "可选字段的值有误时也拒绝整行（而不是去掉该值并警告），有任何行被拒绝时退出码为 2。"
    ),
    "Print the report as JSON.": "以 JSON 输出报告。",
    "Where to write rejected rows.": "被拒绝的行写到哪里。",
    # sample, demo
    "Number of customers.": "客户数。",
    "Months of history.": "历史月数。",
    "Seed: equal options give equal data.": "随机种子：相同的选项生成相同的数据。",
    "Names, places, phones, calendar.": "姓名、地点、电话和节假日所用的地区。",
    "Write files to this directory instead of the store.": "把文件写到此目录，而不是写入数据库。",
    "synthetic, or the real CDNOW cohort / master.": (
        "synthetic（合成），或真实的 CDNOW 同期群 / 全量数据。"
    ),
    "With --out: customers per chunk (bounded memory).": "配合 --out：每块的客户数（限制内存）。",
    "File format with --out: csv or parquet.": "配合 --out 的文件格式：csv 或 parquet。",
    # export
    "Directory to write <table>.parquet files into.": "写入 <表名>.parquet 文件的目录。",
    "Comma-separated tables to export, e.g. orders,customers (default: all).": (
        "要导出的表，逗号分隔，例如 orders,customers（默认：全部）。"
    ),
    # metrics, cohorts, funnel
    "2024-01..2024-12, 2024Q1, 2024-03 … (default: --last 12m).": (
        "2024-01..2024-12、2024Q1、2024-03 …（默认：--last 12m）。"
    ),
    "90d, 12w, 6m, 1y before --as-of": "--as-of 之前的 90d、12w、6m、1y",
    "Local date the analysis runs as of; default now.": "分析所依据的本地日期；默认现在。",
    "Months after joining compared, and of the flows (default [loyalty.evaluation]).": (
        "比较入会后的月数，也是积分流转统计的月数（默认 [loyalty.evaluation]）。"
    ),
    "day, week, month, quarter or year: a series.": "day、week、month、quarter 或 year：按期序列。",
    "Per group: a customer attribute, age_band or a score.": (
        "按组：客户属性、age_band 或某项评分。"
    ),
    "Comma-separated ids (default: headline).": "指标编号，逗号分隔（默认：核心指标）。",
    # customer
    "Internal id or customer number.": "内部 ID 或客户编号。",
    "CUSTOMER is the business's customer number, even if all digits.": (
        "CUSTOMER 是企业的客户编号，即使全是数字。"
    ),
    "Timeline entries shown.": "显示的时间线条目数。",
    # reports
    "Customers shown.": "显示的客户数。",
    "High scorer from this score (default: top quartile).": "从此分数起算高分（默认：前 25%）。",
    "value_tier, lifecycle_stage or rfm_segment.": "value_tier、lifecycle_stage 或 rfm_segment。",
    "Earlier snapshot date.": "较早的快照日期。",
    "Later snapshot date.": "较晚的快照日期。",
    "Lowest churn risk listed.": "列出的最低流失风险。",
    # models, demand
    "bgnbd, paretonbd, gammagamma, churn…": "bgnbd、paretonbd、gammagamma、churn…",
    "A saved version (default latest).": "已保存的版本（默认最新）。",
    "table (for people), json (the saved documents) or csv (one row per parameter).": (
        "table（给人看），json（保存的文档）或 csv（每个参数一行）。"
    ),
    "Holdout length before --as-of, e.g. 26w, 180d, 6m.": (
        "--as-of 之前的留出期长度，例如 26w、180d、6m。"
    ),
    "Write the HTML backtest report here.": "把 HTML 回测报告写到这里。",
    "Some of: purchase,spend,churn,demand (default all).": (
        "以下若干：purchase,spend,churn,demand（默认全部）。"
    ),
    "Periods (weeks) to forecast after the data.": "数据之后要预测的期数（周）。",
    "A saved demand model version (default: the latest).": "已保存的需求模型版本（默认：最新）。",
    # users
    "Log-in name (unique).": "登录名（唯一）。",
    "admin, manager, sales, service or analyst.": "admin、manager、sales、service 或 analyst。",
    "Team (managers see their team).": "团队（经理能看到本团队）。",
    "Name shown to others.": "向他人显示的姓名。",
    "E-mail address.": "电子邮箱地址。",
    "Expire what is due at the end of this local date (default: now).": "过期截至该本地日期结束时"
    "到期的积分（默认：现在）。",
    "Count what would expire; write nothing.": "只统计将会过期的积分，不写入。",
    "Evaluate at the end of this local date (default: now).": (
        "按此本地日期的结束时刻评定（默认：现在）。"
    ),
    "Count what would change; write nothing.": "只统计将会发生的变化，不写入。",
    "Count what would be posted; write nothing.": "只统计将会入账的积分，不写入。",
    "The reward's code (unique).": "奖励的代码（唯一）。",
    "Its name in Chinese.": "中文名称。",
    "Its name in English.": "英文名称。",
    "coupon, gift or discount.": "coupon（优惠券）、gift（礼品）或 discount（折扣）。",
    "Its price in points.": "所需积分。",
    "Vouchers left (default: unlimited).": "剩余可兑换数量（默认：不限）。",
    "Keep it in the catalogue, not offered.": "保留在目录中，但不再提供。",
    "The reward's code.": "奖励的代码。",
    "The voucher's code.": "兑换券的代码。",
    "Post what is due at the end of this local date (default: now).": "发放截至该本地日期结束时"
    "应发的奖励（默认：现在）。",
    "The customer's id.": "客户的内部 ID。",
    "Read the password from standard input.": "从标准输入读取密码。",
    "No log-in; API tokens only.": "不能登录；只用 API 令牌。",
    "Log-in name of an existing account.": "已有账号的登录名。",
    "Log-in name.": "登录名。",
    "The account whose failed log-ins to forget.": "要清除登录失败记录的账号。",
    "A client address whose failed log-ins to forget.": "要清除登录失败记录的客户端地址。",
    "The user the token acts as.": "令牌代表的用户。",
    "What the token is for, e.g. shop-sync.": "令牌的用途，例如 shop-sync。",
    "customers:read, orders:write … (repeat the option); * for all the user may do.": (
        "customers:read、orders:write …（可重复此选项）；* 表示该用户能做的一切。"
    ),
    "Expire after this many days (default: never).": "多少天后过期（默认：永不过期）。",
    "The token's id (see `rapport users list`).": "令牌编号（见 `rapport users list`）。",
    # audit
    "Actor: a user name (also via their tokens).": "操作人：用户名（包括通过其令牌的操作）。",
    "Entries about this customer id.": "与此客户 ID 有关的条目。",
    "Only this action.": "只看此操作。",
    "Only records of this table, e.g. orders.": "只看此表的记录，例如 orders。",
    "From this local date or time (inclusive).": "从此本地日期或时间起（含）。",
    "To this local date (inclusive) or time.": "到此本地日期（含）或时间为止。",
    "Entries to show.": "显示的条目数。",
    "Only entries older than this id (next page).": "只看编号小于此值的条目（下一页）。",
    # config show
    "Print JSON instead of TOML.": "输出 JSON 而不是 TOML。",
    # rapport tasks, rapport alerts
    "open, done, skipped, expired.": (
        "open（待办）、done（完成）、skipped（跳过）、expired（过期）。"
    ),
    "Tasks of this username.": "该登录名员工的任务。",
    "Tasks of this team.": "该团队的任务。",
    "Tasks of this customer id.": "该客户 ID 的任务。",
    "Due at or after a local date or time.": "在该本地日期或时间及之后到期。",
    "Due before a local date or time.": "在该本地日期或时间之前到期。",
    "Tasks per page.": "每页任务数。",
    "The next page's cursor.": "下一页的游标。",
    "The task's id.": "任务 ID。",
    "The call's result: reached, no_answer, callback, declined.": "通话结果：reached（已联系上）、"
    "no_answer（无人接听）、callback（约定回电）、declined（客户婉拒）。",
    "What came of it.": "处理情况。",
    "The staff member (username) the change is made for.": "以哪位员工（登录名）的名义更改。",
    "Why it is not done (required).": "不做的原因（必填）。",
    "What to do, e.g. 回访：询问使用体验.": "要做什么，例如：回访：询问使用体验。",
    "A local date (due by 23:59) or date and time.": "本地日期（当天 23:59 到期）或日期和时间。",
    "The username it is for.": "交给哪位员工（登录名）。",
    "The team's queue it goes to.": "放入哪个团队的队列。",
    "low, normal, high, urgent.": "low（低）、normal（普通）、high（高）、urgent（紧急）。",
    "What to say or do.": "要说什么或做什么。",
    "As of a local date (its end) or time; default: now.": (
        "截至某个本地日期（当天结束时）或时间；默认：现在。"
    ),
    "open, acknowledged, resolved, or unresolved (the first two).": "open（未处理）、"
    "acknowledged（已确认）、resolved（已解决），或 unresolved（前两者）。",
    "The kind of alert.": "告警类型。",
    "info, warning, critical.": "info（提示）、warning（警告）、critical（严重）。",
    "Alerts of this customer.": "该客户的告警。",
    "Alerts per page.": "每页告警数。",
    "The alert's id.": "告警 ID。",
    "The local day to run for (default: today).": "为哪个本地日期运行（默认：今天）。",
}

#: The words of the help screens themselves, by the name typer gives them.
HELP_TERMS: dict[str, str] = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "DEFAULT_STRING": "[默认：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "（已弃用）",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "用 [blue]'{command_path} {help_option}'[/] 查看帮助。",
}

#: The help of ``--help`` itself.
HELP_OPTION = ("Show this message and exit.", "显示此帮助并退出。")

#: The usage line (``Usage: rapport metrics [OPTIONS]``): its prefix and the placeholders of
#: options and subcommands, as typer writes them in English.
USAGE_TERMS: dict[str, tuple[str, str]] = {
    "prefix": ("Usage: ", "用法："),
    "options": ("[OPTIONS]", "[选项]"),
    "commands": ("COMMAND [ARGS]...", "命令 [参数]..."),
}

#: How a usage error names what is missing or wrong, by the kind of parameter.
PARAMETER_KINDS: dict[str, str] = {"argument": "参数", "option": "选项", "parameter": "参数"}

#: The frames of typer's usage errors (a value that is wrong, a parameter that is missing,
#: the options that may have been meant, the choices).
USAGE_FRAMES: dict[str, str] = {
    "invalid_for": "{hint} 的值无效：{message}",
    "invalid": "值无效：{message}",
    "missing": "缺少{kind} {hint}",
    "missing_unnamed": "缺少{kind}",
    "possible": "（可能的选项：{options}）",
    "choices": "可选：{choices}",
}

#: The messages of typer's usage errors and of the value checks behind them (typer's and
#: pydantic's), by a pattern of their whole English text, with the Chinese template of the
#: pattern's named groups. A message no pattern knows keeps its words in the Chinese frame.
USAGE_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"No such option: (?P<name>.+)", "没有这个选项：{name}"),
    (
        r"No such command (?P<name>'.*')\. Did you mean (?P<commands>.+)\?",
        "没有这个命令：{name}。要用的是 {commands} 吗？",
    ),
    (r"No such command (?P<name>'.*')\.", "没有这个命令：{name}"),
    (r"Missing command\.", "缺少命令"),
    (r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)", "多余的参数：{args}"),
    (r"Option (?P<name>'.*') requires an argument\.", "选项 {name} 需要一个值"),
    (r"Option (?P<name>'.*') requires (?P<n>\d+) arguments\.", "选项 {name} 需要 {n} 个值"),
    (r"Option (?P<name>'.*') does not take a value\.", "选项 {name} 不接受值"),
    (r"Input should be a valid integer.*", "需要整数"),
    (r"Input should be a valid number.*", "需要数字"),
    (r"Input should be a valid boolean.*", "需要 true 或 false"),
    (r"Input should be a valid date.*", "需要日期"),
    (r"Input should be a valid datetime.*", "需要日期和时间"),
    (r"Input should be a valid string.*", "需要文本"),
    (r"Input should be greater than or equal to (?P<n>\S+)", "不能小于 {n}"),
    (r"Input should be less than or equal to (?P<n>\S+)", "不能大于 {n}"),
    (r"Input should be greater than (?P<n>\S+)", "必须大于 {n}"),
    (r"Input should be less than (?P<n>\S+)", "必须小于 {n}"),
    (
        r"(?:Value error, )?(?P<value>.+) is not one of (?P<choices>.+)\.",
        "{value} 不是可选值；可选：{choices}",
    ),
    (r"Value (?P<value>.+) is not a valid (?P<kind>\w+)\.", "{value} 不是有效的 {kind}"),
    (r"Value must be an iterable\.", "需要多个值"),
    (r"(?:File|Directory|Path) (?P<path>'.*') does not exist\.", "{path} 不存在"),
    (r"(?:File|Directory|Path) (?P<path>'.*') is a file\.", "{path} 是文件"),
    (r"(?:File|Directory|Path) (?P<path>'.*') is a directory\.", "{path} 是目录"),
    (r"(?:File|Directory|Path) (?P<path>'.*') is not readable\.", "{path} 不可读"),
    (r"(?:File|Directory|Path) (?P<path>'.*') is not writable\.", "{path} 不可写"),
)
