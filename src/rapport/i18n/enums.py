"""Labels of every domain enumeration in zh-CN and English, and the spellings importers accept.

:data:`LABELS` gives each member of each :class:`~enum.StrEnum` of :mod:`rapport.domain` a
``(zh, en)`` pair; :data:`SYNONYMS` adds spellings found in real exports of Chinese shops and
ERPs (``交易成功`` for a completed order, ``M`` for male …). :func:`enum_lookup` merges the
member values, both labels and the synonyms into one case-insensitive table that the
importers use; it refuses a table in which one spelling would name two members.

Lookup keys are built by :func:`lookup_key`: strip, full-width ASCII to half-width, lowercase,
and runs of spaces, hyphens and underscores folded to one ``_`` — so ``In progress``,
``in-progress`` and ``ＩＮ＿ＰＲＯＧＲＥＳＳ`` all find ``in_progress``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import Literal

from rapport import domain
from rapport.i18n.locale import pick

Locale = Literal["zh_CN", "en"]  # the values of rapport.domain.UI_LOCALES

#: Full-width ASCII (U+FF01–U+FF5E) to ASCII and the ideographic space U+3000 to a space,
#: as a :meth:`str.translate` table.
HALFWIDTH_TABLE: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

#: The characters Unicode calls white space (``White_Space=yes``); stripped from every value.
WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: What :func:`lookup_key` folds to ``_``: runs of spaces, hyphens and underscores.
KEY_SEPARATORS = r"[ \-_]+"
_KEY_SEPARATORS = re.compile(KEY_SEPARATORS)

LABELS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    domain.Gender: {
        "female": ("女", "Female"),
        "male": ("男", "Male"),
        "other": ("其他", "Other"),
        "unknown": ("未知", "Unknown"),
    },
    domain.Role: {
        "admin": ("管理员", "Administrator"),
        "manager": ("经理", "Manager"),
        "sales": ("销售", "Sales"),
        "service": ("客服", "Customer service"),
        "analyst": ("分析师", "Analyst"),
    },
    domain.LeadStatus: {
        "new": ("新建", "New"),
        "qualified": ("已确认", "Qualified"),
        "converted": ("已转化", "Converted"),
        "lost": ("丢失", "Lost"),
    },
    domain.OrderStatus: {
        "pending": ("待付款", "Pending payment"),
        "paid": ("已付款", "Paid"),
        "shipped": ("已发货", "Shipped"),
        "completed": ("已完成", "Completed"),
        "cancelled": ("已取消", "Cancelled"),
        "refunding": ("退款中", "Refund in progress"),
        "refunded": ("已退款", "Refunded"),
    },
    domain.EventKind: {
        "page_view": ("浏览页面", "Page view"),
        "product_view": ("浏览商品", "Product view"),
        "search": ("搜索", "Search"),
        "add_to_cart": ("加购", "Add to cart"),
        "checkout": ("结算", "Checkout"),
        "email_open": ("打开邮件", "Email open"),
        "email_click": ("点击邮件", "Email click"),
        "sms_click": ("点击短信", "SMS click"),
        "social_like": ("点赞", "Social like"),
        "social_comment": ("评论", "Social comment"),
        "social_share": ("分享", "Social share"),
        "event_attend": ("参加活动", "Event attendance"),
        "app_open": ("打开App", "App open"),
        "review": ("评价", "Review"),
        "login": ("登录", "Login"),
    },
    domain.InteractionChannel: {
        "phone": ("电话", "Phone"),
        "email": ("邮件", "Email"),
        "chat": ("在线客服", "Chat"),
        "visit": ("到店", "Visit"),
        "social": ("社交", "Social"),
        "after_sales": ("售后", "After-sales"),
    },
    domain.Direction: {
        "inbound": ("呼入", "Inbound"),
        "outbound": ("呼出", "Outbound"),
        "unknown": ("未知", "Unknown"),
    },
    domain.SurveyKind: {
        "csat": ("满意度", "CSAT"),
        "nps": ("推荐度", "NPS"),
        "ces": ("费力度", "CES"),
        "perceived_value": ("感知价值", "Perceived value"),
        "expectation": ("期望", "Expectation"),
    },
    domain.TicketKind: {
        "complaint": ("投诉", "Complaint"),
        "suggestion": ("建议", "Suggestion"),
        "inquiry": ("咨询", "Inquiry"),
        "praise": ("表扬", "Praise"),
        "service_request": ("服务请求", "Service request"),
    },
    domain.TicketPriority: {
        "low": ("低", "Low"),
        "normal": ("普通", "Normal"),
        "high": ("高", "High"),
        "urgent": ("紧急", "Urgent"),
    },
    domain.TicketStatus: {
        "open": ("待处理", "Open"),
        "in_progress": ("处理中", "In progress"),
        "waiting_customer": ("等待客户", "Waiting for customer"),
        "resolved": ("已解决", "Resolved"),
        "closed": ("已关闭", "Closed"),
    },
    domain.Channel: {
        "online_store": ("官网商城", "Online store"),
        "app": ("移动应用", "App"),
        "wechat": ("微信", "WeChat"),
        "tmall": ("天猫", "Tmall"),
        "jd": ("京东", "JD.com"),
        "douyin": ("抖音", "Douyin"),
        "retail_store": ("线下门店", "Retail store"),
        "phone": ("电话", "Phone"),
        "email": ("邮件", "Email"),
        "sms": ("短信", "SMS"),
        "referral": ("推荐", "Referral"),
        "search_ads": ("搜索广告", "Search ads"),
        "social": ("社交媒体", "Social media"),
        "event": ("活动", "Event"),
        "partner": ("合作伙伴", "Partner"),
        "other": ("其他", "Other"),
    },
    domain.CampaignChannel: {
        "email": ("邮件", "Email"),
        "sms": ("短信", "SMS"),
        "wechat": ("微信", "WeChat"),
        "app_push": ("推送", "App push"),
        "phone": ("电话", "Phone"),
        "direct_mail": ("直邮", "Direct mail"),
    },
    domain.LoyaltyReason: {
        "purchase": ("消费", "Purchase"),
        "redeem": ("兑换", "Redemption"),
        "bonus": ("赠送", "Bonus"),
        "referral": ("推荐", "Referral"),
        "birthday": ("生日", "Birthday"),
        "review": ("评价", "Review"),
        "expire": ("过期", "Expiry"),
        "adjust": ("调整", "Adjustment"),
        "clawback": ("扣回", "Clawback"),
    },
    domain.TierChangeReason: {
        "initial": ("初始等级", "Initial tier"),
        "upgrade": ("升级", "Upgrade"),
        "downgrade": ("降级", "Downgrade"),
        "mapping": ("价值分层对应", "Value tier mapping"),
    },
    domain.RewardKind: {
        "coupon": ("优惠券", "Coupon"),
        "gift": ("礼品", "Gift"),
        "discount": ("折扣", "Discount"),
    },
    domain.AuditAction: {
        "create": ("创建", "Create"),
        "update": ("修改", "Update"),
        "delete": ("删除", "Delete"),
        "read_pii": ("查看个人信息", "Read personal data"),
        "export": ("导出", "Export"),
        "erase": ("擦除", "Erase"),
        "login": ("登录", "Log in"),
        "login_failed": ("登录失败", "Login failed"),
        "login_locked": ("登录受限", "Login locked out"),
        "import": ("导入", "Import"),
    },
    domain.ImportJobStatus: {
        "queued": ("排队中", "Queued"),
        "running": ("进行中", "Running"),
        "done": ("已完成", "Done"),
        "failed": ("失败", "Failed"),
    },
    domain.PlaybookSource: {
        "builtin": ("内置", "Built-in"),
        "rules": ("规则文件", "Rules file"),
        "api": ("接口", "API"),
    },
    domain.EnrolmentArm: {
        "treated": ("执行组", "Treated"),
        "holdout": ("留出组", "Holdout"),
        "control": ("全局对照组", "Global control"),
    },
    domain.TaskStatus: {
        "open": ("待办", "Open"),
        "done": ("已完成", "Done"),
        "skipped": ("已跳过", "Skipped"),
        "expired": ("已过期", "Expired"),
    },
    domain.CallResult: {
        "reached": ("已联系上", "Reached"),
        "no_answer": ("无人接听", "No answer"),
        "callback": ("约定回电", "Call back"),
        "declined": ("客户婉拒", "Declined"),
    },
    domain.AlertKind: {
        "churn_risk": ("高价值客户流失风险", "High-value churn risk"),
        "diamond_downgraded": ("钻石客户降级", "Diamond downgraded"),
        "nps_detractor": ("NPS 贬损者", "NPS detractor"),
        "sla_at_risk": ("SLA 即将超时", "SLA about to breach"),
        "sla_breached": ("SLA 已超时", "SLA breached"),
        "metric_out_of_band": ("指标异常", "Metric out of band"),
    },
    domain.AlertSeverity: {
        "info": ("提示", "Info"),
        "warning": ("警告", "Warning"),
        "critical": ("严重", "Critical"),
    },
    domain.AlertStatus: {
        "open": ("未处理", "Open"),
        "acknowledged": ("已确认", "Acknowledged"),
        "resolved": ("已解决", "Resolved"),
    },
    domain.MessageChannel: {
        "email": ("电子邮件", "E-mail"),
        "sms": ("短信", "SMS"),
        "wechat": ("微信", "WeChat"),
        "app_push": ("App 推送", "App push"),
        "webhook": ("网络回调", "Webhook"),
    },
    domain.OutboxStatus: {
        "pending": ("待发送", "Pending"),
        "sending": ("发送中", "Sending"),
        "sent": ("已发送", "Sent"),
        "dead": ("发送失败", "Dead"),
    },
    domain.RunStatus: {
        "running": ("运行中", "Running"),
        "done": ("已完成", "Done"),
        "failed": ("失败", "Failed"),
    },
    domain.LoginThrottleKind: {
        "account": ("账号", "Account"),
        "address": ("客户端地址", "Client address"),
    },
    domain.ValueTier: {
        "diamond": ("钻石", "Diamond"),
        "gold": ("黄金", "Gold"),
        "silver": ("白银", "Silver"),
        "bronze": ("青铜", "Bronze"),
    },
    domain.LifecycleStage: {
        "prospect": ("潜在", "Prospect"),
        "new": ("新客", "New"),
        "active": ("活跃", "Active"),
        "growing": ("成长", "Growing"),
        "at_risk": ("流失风险", "At risk"),
        "churned": ("已流失", "Churned"),
        "reactivated": ("回流", "Reactivated"),
    },
}


def _synonyms(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Invert ``member value -> spellings`` into ``spelling -> member value``."""
    return {spelling: value for value, spellings in table.items() for spelling in spellings}


SYNONYMS: dict[type[StrEnum], dict[str, str]] = {
    domain.Gender: _synonyms(
        {
            "female": ("女性", "女士", "F", "woman"),
            "male": ("男性", "先生", "M", "man"),
            "other": ("其它",),
            "unknown": ("保密", "不详", "U"),
        }
    ),
    domain.Role: _synonyms(
        {
            "admin": ("系统管理员", "管理"),
            "manager": ("主管", "运营经理"),
            "sales": ("销售代表", "销售顾问", "salesperson"),
            "service": ("客服专员", "售后客服", "support", "customer support"),
            "analyst": ("数据分析师", "数据分析"),
        }
    ),
    domain.LeadStatus: _synonyms(
        {
            "new": ("新线索", "待跟进", "未跟进"),
            "qualified": ("合格", "有效", "有效线索", "跟进中"),
            "converted": ("转化", "成交", "已成交", "won"),
            "lost": ("已丢失", "无效", "无效线索", "失败", "dead"),
        }
    ),
    domain.OrderStatus: _synonyms(
        # the statuses of Taobao/Tmall, JD, Pinduoduo, Douyin and Youzan exports, and of
        # Shopify, WooCommerce and Magento in English
        {
            "pending": (
                "待支付",
                "未付款",
                "等待买家付款",
                "待买家付款",
                "等待付款",
                "下单未付款",
                "unpaid",
                "awaiting payment",
                "pending payment",
                "on hold",
                "draft",
                "checkout draft",
                "new",
            ),
            "paid": (
                "已支付",
                "买家已付款",
                "付款成功",
                "支付成功",
                "待发货",
                "等待卖家发货",
                "等待发货",
                "待出库",
                "已付款待发货",
                "备货中",
                "processing",
                "awaiting shipment",
                "awaiting fulfillment",
                "unfulfilled",
                "to ship",
                "ready to ship",
            ),
            "shipped": (
                "卖家已发货",
                "等待买家确认收货",
                "待收货",
                "待签收",
                "已出库",
                "运输中",
                "配送中",
                "派送中",
                "已揽收",
                "in transit",
                "out for delivery",
                "fulfilled",
                "dispatched",
                "sent",
            ),
            "completed": (
                "完成",
                "交易成功",
                "交易完成",
                "订单完成",
                "已签收",
                "已收货",
                "确认收货",
                "已确认收货",
                "部分退款",
                "success",
                "done",
                "complete",
                "finished",
                "delivered",
                "received",
                "partially refunded",
            ),
            "cancelled": (
                "取消",
                "交易关闭",
                "已关闭",
                "已作废",
                "订单取消",
                "交易取消",
                "已失效",
                "付款超时",
                "closed",
                "canceled",
                "cancel",
                "voided",
                "void",
                "failed",
                "expired",
            ),
            "refunding": (
                "退款申请中",
                "申请退款",
                "退款处理中",
                "退货中",
                "售后中",
                "退货退款中",
                "refund requested",
                "refund pending",
                "pending refund",
                "return requested",
                "returning",
            ),
            "refunded": (
                "退款",
                "退货退款",
                "退款成功",
                "退款完成",
                "已退货",
                "refund",
                "returned",
                "fully refunded",
            ),
        }
    ),
    domain.EventKind: _synonyms(
        {
            "page_view": ("浏览", "页面浏览", "访问", "pv", "view"),
            "product_view": ("商品浏览", "查看商品", "商品详情"),
            "search": ("站内搜索",),
            "add_to_cart": ("加入购物车", "加购物车", "cart", "add cart"),
            "checkout": ("下单", "结账", "提交订单"),
            "email_open": ("邮件打开",),
            "email_click": ("邮件点击",),
            "sms_click": ("短信点击",),
            "social_like": ("喜欢", "like"),
            "social_comment": ("留言", "comment"),
            "social_share": ("转发", "share"),
            "event_attend": ("参会", "活动签到", "attend"),
            "app_open": ("打开应用", "启动App", "app启动"),
            "review": ("商品评价", "晒单"),
            "login": ("登陆", "登入", "sign in"),
        }
    ),
    domain.InteractionChannel: _synonyms(
        {
            "phone": ("电话沟通", "致电", "call", "telephone"),
            "email": ("电子邮件", "邮箱", "e-mail"),
            "chat": ("在线咨询", "在线聊天", "聊天", "im", "live chat"),
            "visit": ("门店", "拜访", "上门", "到访", "store visit"),
            "social": ("社交媒体", "社媒", "social media"),
            "after_sales": ("售后服务", "aftersales", "after sales service"),
        }
    ),
    domain.Direction: _synonyms(
        {
            "inbound": ("来电", "客户来电", "打入", "呼入电话", "in"),
            "outbound": ("去电", "外呼", "回访", "打出", "out"),
            "unknown": ("不详", "未注明", "其他", "n/a", "na"),
        }
    ),
    domain.SurveyKind: _synonyms(
        {
            "csat": ("满意度调查", "客户满意度", "customer satisfaction"),
            "nps": ("净推荐值", "推荐意愿", "net promoter score"),
            "ces": ("客户费力度", "费力度调查", "customer effort score"),
            "perceived_value": ("价值感知", "感知价值调查"),
            "expectation": ("期望值", "客户期望"),
        }
    ),
    domain.TicketKind: _synonyms(
        {
            "complaint": ("客诉", "投诉单"),
            "suggestion": ("意见", "意见建议", "feedback"),
            "inquiry": ("询问", "问询", "enquiry", "question"),
            "praise": ("感谢", "好评", "compliment"),
            "service_request": ("服务申请", "报修", "维修", "request"),
        }
    ),
    domain.TicketPriority: _synonyms(
        {
            "low": ("低优先级", "不急", "minor"),
            "normal": ("一般", "中", "中等", "正常", "medium"),
            "high": ("高优先级", "重要", "major"),
            "urgent": ("特急", "加急", "非常紧急", "critical"),
        }
    ),
    domain.TicketStatus: _synonyms(
        {
            "open": ("新建", "未处理", "待受理", "打开", "new"),
            "in_progress": ("进行中", "跟进中", "受理中", "已受理"),
            "waiting_customer": ("待客户回复", "等待回复", "待反馈", "pending"),
            "resolved": ("已处理", "解决", "已完成"),
            "closed": ("关闭", "已完结", "完结"),
        }
    ),
    domain.Channel: _synonyms(
        {
            "online_store": ("官网", "商城", "网店", "web", "website"),
            "app": ("APP", "手机App", "客户端"),
            "wechat": ("微信小程序", "小程序", "公众号", "weixin"),
            "tmall": ("天猫商城",),
            "jd": ("京东商城", "jingdong"),
            "douyin": ("抖音小店", "tiktok"),
            "retail_store": ("门店", "实体店", "线下", "store"),
            "phone": ("电话销售", "电销"),
            "email": ("电子邮件", "邮箱"),
            "sms": ("短消息",),
            "referral": ("转介绍", "老带新", "口碑"),
            "search_ads": ("搜索引擎", "百度推广", "sem"),
            "social": ("社交", "微博", "小红书"),
            "event": ("展会", "线下活动"),
            "partner": ("渠道商", "代理商", "经销商"),
            "other": ("其它",),
        }
    ),
    domain.CampaignChannel: _synonyms(
        {
            "email": ("电子邮件", "邮件营销", "edm", "e-mail"),
            "sms": ("短消息", "短信营销"),
            "wechat": ("公众号", "企业微信", "模板消息", "weixin"),
            "app_push": ("App推送", "消息推送", "push"),
            "phone": ("电话外呼", "外呼", "电销", "telemarketing"),
            "direct_mail": ("邮寄", "信函", "纸质邮件"),
        }
    ),
    domain.LoyaltyReason: _synonyms(
        {
            "purchase": ("购物", "购买", "下单", "消费积分"),
            "redeem": ("积分兑换", "兑换礼品", "使用", "redemption"),
            "bonus": ("奖励", "活动赠送", "赠积分", "gift"),
            "referral": ("推荐好友", "邀请", "邀请好友"),
            "birthday": ("生日礼", "生日积分"),
            "review": ("评论", "晒单"),
            "expire": ("积分过期", "失效", "到期", "expired", "expiry"),
            "adjust": ("手动调整", "人工调整", "系统调整", "adjustment"),
            "clawback": ("积分扣回", "退款扣回", "退单扣回", "claw back"),
        }
    ),
    domain.AuditAction: _synonyms(
        {
            "create": ("新增", "新建", "添加"),
            "update": ("更新", "编辑"),
            "delete": ("移除",),
            "read_pii": ("查看隐私", "查看敏感信息"),
            "export": ("下载",),
            "erase": ("抹除", "彻底删除"),
            "login": ("登陆", "log in", "sign in"),
            "login_failed": ("登录失败次数", "登陆失败"),
            "import": ("上传",),
        }
    ),
    domain.ValueTier: _synonyms(
        {
            "diamond": ("钻石客户", "钻石会员", "钻石卡"),
            "gold": ("金牌", "金卡", "黄金会员"),
            "silver": ("银牌", "银卡", "白银会员"),
            "bronze": ("铜牌", "铜卡", "青铜会员"),
        }
    ),
    domain.LifecycleStage: _synonyms(
        {
            "prospect": ("潜在客户", "潜客"),
            "new": ("新客户", "新用户"),
            "active": ("活跃客户", "活跃用户"),
            "growing": ("成长期", "成长客户"),
            "at_risk": ("有流失风险", "风险客户", "预警"),
            "churned": ("流失", "流失客户"),
            "reactivated": ("召回", "唤醒", "重新激活"),
        }
    ),
}


def domain_enums() -> list[type[StrEnum]]:
    """Every :class:`~enum.StrEnum` defined in :mod:`rapport.domain`, in definition order."""
    return [
        obj
        for obj in vars(domain).values()
        if isinstance(obj, type)
        and issubclass(obj, StrEnum)
        and obj is not StrEnum
        and obj.__module__ == domain.__name__
    ]


def label(member: StrEnum, locale: str = "zh_CN") -> str:
    """The user-facing label of an enumeration member.

    Parameters
    ----------
    member
        A member of one of the enumerations of :mod:`rapport.domain`.
    locale
        ``"zh_CN"`` or ``"en"``, in any spelling :func:`rapport.i18n.locale.normalize`
        knows (``"zh"``, ``"zh-CN"``, ``"en_US"`` …).

    Returns
    -------
    str
        The label in that language.

    Raises
    ------
    KeyError
        If the enumeration has no labels.
    ValueError
        If the locale is not supported.
    """
    return pick(LABELS[type(member)][member.value], locale)


#: Which enumeration the values of a stored column are members of, ``(table, column) ->
#: enum``: the columns typed by an enumeration in the store's schema, and the channel
#: columns that are free text holding :class:`~rapport.domain.Channel` values.
COLUMN_ENUMS: dict[tuple[str, str], type[StrEnum]] = {
    ("users", "role"): domain.Role,
    ("customers", "gender"): domain.Gender,
    ("customers", "source_channel"): domain.Channel,
    ("leads", "status"): domain.LeadStatus,
    ("leads", "source"): domain.Channel,
    ("campaigns", "channel"): domain.CampaignChannel,
    ("orders", "status"): domain.OrderStatus,
    ("orders", "channel"): domain.Channel,
    ("events", "kind"): domain.EventKind,
    ("events", "channel"): domain.Channel,
    ("interactions", "channel"): domain.InteractionChannel,
    ("interactions", "direction"): domain.Direction,
    ("tickets", "kind"): domain.TicketKind,
    ("tickets", "priority"): domain.TicketPriority,
    ("tickets", "status"): domain.TicketStatus,
    ("tickets", "channel"): domain.Channel,
    ("ticket_status_history", "from_status"): domain.TicketStatus,
    ("ticket_status_history", "to_status"): domain.TicketStatus,
    ("survey_responses", "kind"): domain.SurveyKind,
    ("survey_responses", "channel"): domain.Channel,
    ("referrals", "channel"): domain.Channel,
    ("survey_links", "kind"): domain.SurveyKind,
    ("loyalty_ledger", "reason"): domain.LoyaltyReason,
    ("audit_log", "action"): domain.AuditAction,
    ("loyalty_rewards", "kind"): domain.RewardKind,
    ("loyalty_tier_changes", "reason"): domain.TierChangeReason,
    ("login_throttle", "kind"): domain.LoginThrottleKind,
    ("import_jobs", "status"): domain.ImportJobStatus,
    ("playbooks", "source"): domain.PlaybookSource,
    ("playbook_enrolments", "arm"): domain.EnrolmentArm,
    ("tasks", "status"): domain.TaskStatus,
    ("tasks", "priority"): domain.TicketPriority,
    ("tasks", "result"): domain.CallResult,
    ("alerts", "kind"): domain.AlertKind,
    ("alerts", "severity"): domain.AlertSeverity,
    ("alerts", "status"): domain.AlertStatus,
    ("outbox", "channel"): domain.MessageChannel,
    ("outbox", "status"): domain.OutboxStatus,
    ("pipeline_runs", "status"): domain.RunStatus,
    ("customer_scores", "value_tier"): domain.ValueTier,
    ("customer_scores", "lifecycle_stage"): domain.LifecycleStage,
}


def value_label(table: str, column: str, value: object, locale: str = "zh_CN") -> str:
    """The label of a stored value for people: ``("events", "kind", "add_to_cart")`` ->
    ``加购`` / ``Add to cart``.

    Values of columns that no enumeration types (names, subjects …), values that are no
    member of the column's enumeration (a channel a shop named itself), and ``None`` (a
    dash) are shown as they are: data is never rewritten, only codes are translated.
    """
    if value is None:
        return "—"
    enum = COLUMN_ENUMS.get((table, column))
    raw = value.value if isinstance(value, StrEnum) else str(value)
    if enum is None or raw not in enum._value2member_map_:
        return raw
    return label(enum(raw), locale)


#: The stored columns a customer's timeline (:func:`rapport.analytics.timeline.timeline`,
#: and staff's notes that :func:`rapport.customer360.customer_timeline` adds) shows as
#: ``kind`` and ``detail``, per source table. A note has no kind; its text is shown as it is.
TIMELINE_COLUMNS: dict[str, tuple[str, str]] = {
    "orders": ("status", "channel"),
    "interactions": ("channel", "subject"),
    "tickets": ("kind", "status"),
    "survey_responses": ("kind", "scale"),
    "events": ("kind", "channel"),
    "notes": ("", "body"),
}


def timeline_labels(
    source: str, kind: object, detail: object, locale: str = "zh_CN"
) -> tuple[str, str]:
    """The ``kind`` and ``detail`` of a timeline entry for people (see :func:`value_label`):
    ``("events", "add_to_cart", "app")`` -> ``("加购", "移动应用")``."""
    kind_column, detail_column = TIMELINE_COLUMNS.get(source, ("", ""))
    return (
        value_label(source, kind_column, kind, locale),
        value_label(source, detail_column, detail, locale),
    )


def lookup_key(text: str) -> str:
    """The key :func:`enum_lookup` files a spelling under.

    Strip white space, map full-width ASCII to half-width, lowercase, and fold runs of spaces,
    hyphens and underscores to one ``_``.
    """
    folded = text.translate(HALFWIDTH_TABLE).strip(WHITESPACE).lower()
    return _KEY_SEPARATORS.sub("_", folded)


def enum_name(enum: type[StrEnum]) -> str:
    """A readable name of an enumeration: ``OrderStatus`` -> ``order status``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", enum.__name__).lower()


@cache
def enum_lookup(enum: type[StrEnum]) -> dict[str, str]:
    """Every accepted spelling of every member of ``enum``, keyed by :func:`lookup_key`.

    The spellings are the member value, its zh-CN and English labels, and the synonyms of
    :data:`SYNONYMS`.

    Parameters
    ----------
    enum
        An enumeration of :mod:`rapport.domain`.

    Returns
    -------
    dict[str, str]
        Lookup key -> member value. Do not mutate it: it is cached.

    Raises
    ------
    ValueError
        If one spelling would name two different members, or a synonym names no member.
    """
    members = {member.value for member in enum}
    out: dict[str, str] = {}

    def add(spelling: str, value: str) -> None:
        if value not in members:
            raise ValueError(f"{enum.__name__}: {spelling!r} names no member ({value!r})")
        key = lookup_key(spelling)
        previous = out.setdefault(key, value)
        if previous != value:
            raise ValueError(
                f"{enum.__name__}: {spelling!r} would mean both {previous!r} and {value!r}"
            )

    for member in enum:
        add(member.value, member.value)
    labels = LABELS.get(enum, {})
    for value, pair in labels.items():
        for text in pair:
            add(text, value)
    for spelling, value in SYNONYMS.get(enum, {}).items():
        add(spelling, value)
    return out


__all__ = [
    "COLUMN_ENUMS",
    "HALFWIDTH_TABLE",
    "LABELS",
    "SYNONYMS",
    "TIMELINE_COLUMNS",
    "WHITESPACE",
    "Locale",
    "domain_enums",
    "enum_lookup",
    "enum_name",
    "label",
    "lookup_key",
    "timeline_labels",
    "value_label",
]
