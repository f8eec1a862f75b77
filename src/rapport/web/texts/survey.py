"""Texts of the customer's survey page (:mod:`rapport.web.views.survey`): what a customer
reads when they open a survey link — the question of each survey kind with the meaning of
the two ends of its scale, the thank-you page and the pages of a link that cannot be
answered."""

MESSAGES: dict[str, tuple[str, str]] = {
    "survey.title": ("您的意见", "Your opinion"),
    "survey.intro": (
        "感谢您抽出一分钟时间。您的回答帮助我们把服务做得更好。",
        "Thank you for taking a minute. Your answer helps us serve you better.",
    ),
    "survey.valid_until": (
        "此链接只能使用一次，将于{date}失效。",
        "This link can be used once and expires on {date}.",
    ),
    # the question of each survey kind (rapport.domain.SurveyKind), its two ends
    "survey.question.nps": (
        "您有多大可能向朋友或同事推荐我们？",
        "How likely are you to recommend us to a friend or colleague?",
    ),
    "survey.low.nps": ("完全不可能", "Not at all likely"),
    "survey.high.nps": ("极有可能", "Extremely likely"),
    "survey.question.csat": (
        "您对我们的产品和服务满意吗？",
        "How satisfied are you with our products and service?",
    ),
    "survey.low.csat": ("非常不满意", "Very dissatisfied"),
    "survey.high.csat": ("非常满意", "Very satisfied"),
    "survey.question.ces": (
        "这次在我们这里办成您要办的事，有多容易？",
        "How easy was it to get done what you needed from us?",
    ),
    "survey.low.ces": ("非常困难", "Very difficult"),
    "survey.high.ces": ("非常容易", "Very easy"),
    "survey.question.perceived_value": (
        "和您付出的价格相比，我们的产品和服务值不值？",
        "For the price you paid, how good was the value of our products and service?",
    ),
    "survey.low.perceived_value": ("很不值", "Very poor value"),
    "survey.high.perceived_value": ("非常值", "Excellent value"),
    "survey.question.expectation": (
        "在购买之前，您对我们的产品和服务期望有多高？",
        "Before you bought from us, how high were your expectations of our products and service?",
    ),
    "survey.low.expectation": ("很低", "Very low"),
    "survey.high.expectation": ("很高", "Very high"),
    "survey.scale": (
        "请选择 {low} 到 {high} 之间的分数：{low} = {low_text}，{high} = {high_text}",
        "Choose a score from {low} to {high}: {low} = {low_text}, {high} = {high_text}",
    ),
    "survey.comment": (
        "还有什么想告诉我们的吗？（选填）",
        "Anything else you would like to tell us? (optional)",
    ),
    "survey.comment_hint": ("最多 {count} 个字", "Up to {count} characters"),
    "survey.submit": ("提交", "Send"),
    "survey.privacy": (
        "此页面不显示您的任何个人信息；您的回答只用于改进我们的服务。",
        "This page shows none of your personal data; your answer is used only to improve "
        "our service.",
    ),
    # what the form refuses
    "survey.score_missing": ("请选择一个分数", "Please choose a score"),
    "survey.comment_too_long": (
        "留言最多 {count} 个字，请删减一些",
        "The comment may have up to {count} characters; please shorten it",
    ),
    "survey.form_errors": (
        "请修改标出的内容后再提交。",
        "Please correct what is marked, then send again.",
    ),
    # after
    "survey.thanks": ("谢谢您！", "Thank you!"),
    "survey.thanks_text": (
        "我们已收到您的回答。您现在可以关闭此页面。",
        "We have received your answer. You may close this page now.",
    ),
    "survey.used": ("这份问卷已经回答过了", "This survey has been answered"),
    "survey.used_text": (
        "每个链接只能提交一次，我们已收到这份回答——谢谢您！",
        "Each link takes one answer, and this one has been received — thank you!",
    ),
    "survey.expired": ("此链接已过期", "This link has expired"),
    "survey.expired_text": (
        "这份问卷的填写期限已过。如果您仍想告诉我们您的意见，请联系为您服务的工作人员。",
        "The time to answer this survey has passed. If you would still like to tell us "
        "what you think, please contact the staff who serve you.",
    ),
    "survey.unknown": ("找不到这份问卷", "Survey not found"),
    "survey.unknown_text": (
        "此链接无效。请确认打开的是收到的完整链接（有时链接在短信或邮件中被截断）。",
        "This link is not valid. Please check that you opened the whole link you received "
        "(a text message or e-mail sometimes cuts it).",
    ),
}
