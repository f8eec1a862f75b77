"""Header synonyms: the Chinese and English names real exports give each import field.

Headers are compared after normalisation (full-width → half-width, lower case, spaces,
underscores, hyphens and brackets removed), so ``Customer ID``, ``customer_id`` and
``客户ID`` all match. A mapping file (``--mapping``) overrides these per file.
"""

from __future__ import annotations

import re
import unicodedata

#: Synonyms valid for every entity, by import field.
COMMON: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名称", "客户名称", "客户姓名", "full name", "customer name"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件地址", "e-mail", "mail", "email address"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "mobile", "tel",
              "telephone", "phone number", "cell"),
    "wechat_id": ("微信", "微信号", "wechat", "weixin"),
    "country": ("国家", "国家地区"),
    "province": ("省", "省份", "所在省份", "state", "region"),
    "city": ("城市", "市", "所在城市"),
    "district": ("区", "区县", "县区"),
    "street": ("地址", "详细地址", "街道", "收货地址", "address", "street address"),
    "postal_code": ("邮编", "邮政编码", "zip", "zip code", "postcode"),
    "birthday": ("生日", "出生日期", "birth date", "date of birth", "dob"),
    "gender": ("性别", "sex"),
    "occupation": ("职业", "job", "job title"),
    "income_band": ("收入", "收入水平", "收入区间", "income"),
    "source_channel": ("来源", "来源渠道", "注册渠道", "获客渠道", "source", "acquisition channel"),
    "owner_username": ("负责人", "所属销售", "客户经理", "销售", "owner", "account manager"),
    "marketing_consent": ("营销同意", "同意营销", "接受营销", "consent", "marketing opt in"),
    "marketing_opt_out": ("退订", "拒绝营销", "opt out", "unsubscribed"),
    "tags": ("标签", "客户标签", "tag", "labels"),
    "created_at": ("创建时间", "注册时间", "注册日期", "入会时间", "signup date", "registered at"),
    "customer_external_id": ("客户编号", "客户id", "客户代码", "会员号", "会员编号", "会员id",
                             "customer id", "customer no", "customer number", "member id"),
    "status": ("状态", "订单状态", "state"),
    "channel": ("渠道", "来源渠道", "平台", "销售渠道"),
    "currency": ("币种", "货币"),
    "occurred_at": ("时间", "发生时间", "日期", "timestamp", "time", "date"),
    "kind": ("类型", "类别", "type"),
    "comment": ("评论", "备注", "意见", "留言", "remark", "remarks", "note"),
    "subject": ("主题", "标题", "title"),
    "summary": ("摘要", "内容", "记录", "content"),
    "description": ("描述", "问题描述", "详情", "details"),
    "reference": ("关联单号", "参考", "ref"),
    "product_sku": ("商品编码", "商品编号", "sku", "货号", "product id", "product code",
                    "item code"),
    "campaign_external_id": ("活动编号", "活动id", "campaign id", "campaign"),
    "order_external_id": ("订单号", "订单编号", "订单id", "order id", "order no", "order number"),
}  # fmt: skip

#: Synonyms that depend on the entity (the same header means different fields).
BY_ENTITY: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {
        "username": ("用户名", "账号", "工号", "login", "user"),
        "display_name": ("姓名", "显示名", "name"),
        "role": ("角色", "岗位"),
        "team": ("团队", "部门", "department"),
    },
    "customers": {
        "external_id": ("客户编号", "客户id", "客户代码", "会员号", "会员编号", "会员id",
                        "customer id", "customer no", "customer number", "member id", "id"),
        "loyalty_joined_at": ("入会时间", "会员加入时间", "member since"),
        "created_at": ("创建时间", "注册时间", "注册日期", "signup date", "registered at"),
    },
    "leads": {
        "external_id": ("线索编号", "线索id", "lead id", "id"),
        "company": ("公司", "单位", "company name"),
        "source": ("来源", "线索来源", "lead source"),
        "converted_customer_external_id": ("转化客户编号", "转化客户", "converted customer"),
        "converted_at": ("转化时间", "conversion date"),
    },
    "products": {
        "sku": ("商品编码", "商品编号", "货号", "sku", "product id", "product code", "id"),
        "name": ("商品名称", "品名", "名称", "product name", "title"),
        "category": ("类目", "分类", "品类", "商品类别", "category"),
        "price": ("价格", "单价", "售价", "标价", "list price"),
        "is_active": ("在售", "上架", "active"),
    },
    "orders": {
        "external_id": ("订单号", "订单编号", "订单id", "order id", "order no", "order number",
                        "id"),
        "ordered_at": ("下单时间", "订单时间", "下单日期", "付款时间", "成交时间", "订单创建时间",
                       "创建时间", "提交时间", "order date", "order time", "date",
                       "purchase date", "created at", "order created"),
        "customer_external_id": ("买家会员名", "买家账号", "买家id", "买家昵称", "会员名",
                                 "用户id", "buyer", "buyer id"),
        "gross_amount": ("商品总额", "订单总额", "原价", "总金额", "商品总价", "商品金额",
                         "订单原价", "gross", "subtotal"),
        "discount_amount": ("优惠金额", "折扣", "优惠", "discount"),
        "refunded_amount": ("退款金额", "退款", "refund", "refunded"),
        "net_amount": ("实付金额", "实收金额", "实付", "订单金额", "金额", "成交金额", "应付金额",
                       "买家实际支付金额", "买家实付金额", "实付款", "订单实付金额", "支付金额",
                       "付款金额", "amount", "net", "total", "order amount", "order total",
                       "paid"),
        "status": ("订单状态", "交易状态", "状态", "financial status", "order status"),
        "store": ("门店", "店铺", "shop"),
    },
    "order_items": {
        "line_no": ("行号", "序号", "line", "line number"),
        "quantity": ("数量", "件数", "qty"),
        "unit_price": ("单价", "成交单价", "price"),
        "net_amount": ("金额", "小计", "实付金额", "amount", "line total"),
    },
    "events": {
        "external_id": ("事件编号", "事件id", "event id", "id"),
        "kind": ("事件", "事件类型", "行为", "行为类型", "event", "event type", "action"),
        "session_id": ("会话", "会话id", "session"),
        "dwell_seconds": ("停留时长", "停留秒数", "浏览时长", "dwell", "duration"),
        "properties": ("属性", "参数", "props"),
    },
    "interactions": {
        "external_id": ("互动编号", "记录编号", "interaction id", "id"),
        "channel": ("方式", "沟通方式", "互动方式", "渠道", "medium"),
        "direction": ("方向", "呼叫方向", "呼入呼出"),
        "staff_username": ("员工", "客服", "坐席", "跟进人", "staff", "agent"),
        "duration_seconds": ("时长", "通话时长", "duration"),
    },
    "survey_responses": {
        "external_id": ("问卷编号", "答卷编号", "response id", "id"),
        "kind": ("问卷类型", "调查类型", "survey", "survey type"),
        "score": ("分数", "评分", "得分", "rating"),
        "scale_min": ("最低分", "量表最小值", "scale min"),
        "scale_max": ("最高分", "满分", "量表最大值", "scale max"),
        "responded_at": ("答卷时间", "提交时间", "回复时间", "答题时间", "时间", "日期",
                         "response date", "submitted at", "date"),
        "ticket_external_id": ("工单号", "工单编号", "ticket id"),
    },
    "tickets": {
        "external_id": ("工单号", "工单编号", "工单id", "ticket id", "ticket no", "id"),
        "priority": ("优先级", "紧急程度", "级别"),
        "assignee_username": ("处理人", "负责人", "客服", "assignee", "agent"),
        "opened_at": ("创建时间", "提交时间", "受理时间", "开单时间", "opened", "created"),
        "first_response_at": ("首次响应时间", "响应时间", "first response"),
        "resolved_at": ("解决时间", "处理完成时间", "resolved"),
        "closed_at": ("关闭时间", "结案时间", "closed"),
        "satisfaction_rating": ("满意度", "满意度评分", "评价", "rating", "csat"),
    },
    "referrals": {
        "referrer_external_id": ("推荐人", "推荐人编号", "推荐客户", "referrer", "referrer id"),
        "referred_lead_external_id": ("被推荐线索", "线索编号", "referred lead"),
        "referred_customer_external_id": ("被推荐客户", "被推荐人", "referred customer"),
        "referred_at": ("推荐时间", "推荐日期", "referral date"),
        "converted": ("已转化", "是否转化", "成交"),
        "converted_at": ("转化时间", "成交时间"),
    },
    "campaigns": {
        "external_id": ("活动编号", "活动id", "campaign id", "id"),
        "name": ("活动名称", "名称", "campaign name"),
        "channel": ("投放渠道", "渠道", "触达方式"),
        "objective": ("目标", "活动目的", "goal"),
        "started_at": ("开始时间", "开始日期", "start", "start date"),
        "ended_at": ("结束时间", "结束日期", "end", "end date"),
        "budget": ("预算", "费用", "cost"),
        "holdout_share": ("对照组比例", "holdout"),
    },
    "campaign_deliveries": {
        "holdout": ("对照组", "是否对照组", "control", "control group"),
        "sent_at": ("发送时间", "sent"),
        "delivered_at": ("送达时间", "delivered"),
        "opened_at": ("打开时间", "opened"),
        "clicked_at": ("点击时间", "clicked"),
        "converted_at": ("转化时间", "converted"),
    },
    "loyalty_ledger": {
        "points": ("积分", "积分变动", "变动积分", "points change"),
        "reason": ("原因", "变动原因", "类型", "type"),
        "created_by_username": ("操作人", "operator"),
    },
}  # fmt: skip

_PUNCT = re.compile(r"[\s_\-()（）\[\]【】:：/.·]+")


def normalize_header(header: str) -> str:
    """Canonical form of a header for matching: NFKC, lower case, no separators."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", str(header)).strip().lower())


def synonyms(entity: str, fields: list[str]) -> dict[str, str]:
    """Normalised header → import field for one entity (entity synonyms win)."""
    out: dict[str, str] = {}
    for field in fields:
        for spelling in COMMON.get(field, ()):
            out.setdefault(normalize_header(spelling), field)
    for field, spellings in BY_ENTITY.get(entity, {}).items():
        if field in fields:
            for spelling in spellings:
                out[normalize_header(spelling)] = field
    for field in fields:  # the canonical name itself always wins
        out[normalize_header(field)] = field
    return out
