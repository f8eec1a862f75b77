"""Parameters of the synthetic company's latent behaviour model.

Every number the generator draws from is here, with its unit, so ``params.json`` records
the whole model and ``docs/sample.md`` can quote it. Rates are per day unless the name
says otherwise; money is in the locale's currency unit (CNY for zh_CN, USD for en_US).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelParams:
    # --- acquisition ------------------------------------------------------------------
    acquisition_growth: float = 0.5  # last day's acquisition intensity / first day's - 1
    never_buy_share: float = 0.08  # registered customers who never order
    first_order_same_session: float = 0.7  # first order minutes after registering
    first_order_delay_days: float = 10.0  # mean delay (exponential) for the others
    lead_share_by_source: dict[str, float] = field(
        default_factory=lambda: {
            "referral": 1.0,
            "search_ads": 0.8,
            "douyin": 0.5,
            "social": 0.5,
            "wechat": 0.4,
            "partner": 0.6,
            "email": 0.3,
        }
    )
    lead_share_other: float = 0.1  # customers of other sources who were a lead first
    lead_days_before_conversion: float = 10.0  # mean (exponential)
    lead_conversion_rate: float = 0.25  # converted leads / all leads
    marketing_consent_share: float = 0.72
    opt_out_share_of_consented: float = 0.07
    owned_share: float = 0.6  # customers with an owner (sales staff); diamonds always
    loyalty_join_base: float = 0.45  # P(join) = base + 0.25 * tanh(log engagement)

    # --- purchases: BG/NBD-like, rates per week ------------------------------------------
    purchase_r: float = 0.6  # lambda ~ Gamma(shape r, rate alpha), purchases per week
    purchase_alpha: float = 1.4
    dropout_a: float = 0.9  # p ~ Beta(a, b): P(becoming inactive after each order)
    dropout_b: float = 7.0
    # True: a customer may drop out right after the first order too (the MBG/NBD timing of
    # Batislam et al. 2007); False: only after a repeat order, as BG/NBD assumes.
    dropout_after_first: bool = True
    satisfaction_dropout_logit: float = -0.6  # logit(p) shift per sd of satisfaction
    satisfaction_rate_log: float = 0.1  # log(lambda) shift per sd of satisfaction
    # spend per order ~ Gamma(p, nu), nu ~ Gamma(q, rate gamma): mean = p * gamma / (q - 1)
    spend_p: float = 6.0
    spend_q: float = 4.0
    spend_gamma_cny: float = 90.0
    spend_gamma_usd: float = 14.0
    lines_extra_mean: float = 0.5  # lines = 1 + Poisson(this * target / median price), <= 6
    max_quantity: int = 5
    discount_share: float = 0.3  # share of orders with a discount (0.8 on peak days)
    discount_range: tuple[float, float] = (0.05, 0.25)  # of gross
    cancel_share: float = 0.03
    refund_share: float = 0.02  # fully refunded orders
    partial_refund_share: float = 0.03  # of completed orders
    home_channel_share: float = 0.7  # orders through the customer's usual channel
    # A pure model world for parameter-recovery checks: with seasonality off, the purchase
    # clock is not warped; with exact order values, an order is one line worth exactly its
    # Gamma-Gamma draw (rounded to cents), without discount.
    seasonality: bool = True
    exact_order_values: bool = False

    # --- diamonds and drifting customers -----------------------------------------------
    diamond_share: float = 0.015
    diamond_lambda_shape: float = 8.0  # Gamma(shape, scale) per week: mean 0.48
    diamond_lambda_scale: float = 0.06
    diamond_dropout_b: float = 80.0  # p ~ Beta(1, b)
    diamond_spend_multiplier: float = 2.5
    diamond_satisfaction_mean: float = 1.3
    diamond_satisfaction_sd: float = 0.5
    diamond_created_before: float = 0.6  # share of the window: acquired in its first 60%
    drifting_share: float = 0.07
    drifting_lambda_shape: float = 6.0  # mean 0.3 per week
    drifting_lambda_scale: float = 0.05
    drifting_dropout_b: float = 40.0
    drifting_created_before: float = 0.4
    drift_start_range: tuple[float, float] = (0.2, 0.35)  # share of the window before end
    drift_decay_days: float = 45.0  # purchase and activity rates decay exp(-t / this)
    drift_satisfaction_drop: float = 1.5  # sd lost, linearly over 90 days
    drift_ramp_days: float = 90.0

    # --- engagement and behaviour events -----------------------------------------------
    engagement_satisfaction_loading: float = 0.4  # log engagement = l * z + N(0, sd)
    engagement_sd: float = 0.6
    diamond_engagement_multiplier: float = 2.0
    after_dropout_activity: float = 0.12  # activity rate factor after latent dropout
    order_session_share: float = 0.85  # own-channel orders preceded by a tracked session
    browse_sessions_per_month: float = 0.25  # times engagement
    social_events_per_month: float = 0.35  # times engagement^0.5 * exp(0.4 z)
    share_satisfaction_log: float = 0.6  # social_share weight exp(this * z)
    event_attend_per_month: float = 0.02
    review_share: float = 0.12  # completed orders reviewed, times exp(0.3 z)

    # --- campaigns ---------------------------------------------------------------------
    holdout_share: float = 0.1
    conversion_window_days: float = 7.0
    uplift_base: float = 0.02  # incremental conversion of a delivered message
    uplift_click: float = 0.12  # ... of a clicked message
    open_logit_engagement: float = 0.9
    click_given_open: float = 0.25

    # --- satisfaction and surveys ------------------------------------------------------
    survey_share: float = 0.35  # buyers answering post-purchase surveys
    survey_extra_occasions: float = 0.6  # occasions = 1 + Poisson(this)
    survey_loading: float = 0.85  # answer latent = loading * z + N(0, noise)
    survey_noise: float = 0.55
    nps_probs: tuple[float, ...] = (
        0.02, 0.01, 0.02, 0.03, 0.03, 0.05, 0.07, 0.14, 0.20, 0.20, 0.23,
    )  # fmt: skip
    csat_probs: tuple[float, ...] = (0.04, 0.08, 0.18, 0.38, 0.32)
    perceived_value_probs: tuple[float, ...] = (0.03, 0.05, 0.10, 0.20, 0.27, 0.22, 0.13)
    expectation_probs: tuple[float, ...] = (0.02, 0.04, 0.10, 0.22, 0.30, 0.20, 0.12)
    expectation_loading: float = 0.2
    comment_share: float = 0.15
    campaign_survey_response: float = 0.35  # opened nps_survey messages answered

    # --- service tickets (per customer-year) ---------------------------------------------
    ticket_rates_per_year: dict[str, float] = field(
        default_factory=lambda: {
            "complaint": 0.25,
            "inquiry": 0.45,
            "suggestion": 0.05,
            "praise": 0.06,
            "service_request": 0.15,
        }
    )
    ticket_satisfaction_log: dict[str, float] = field(
        default_factory=lambda: {
            "complaint": -0.9,
            "inquiry": 0.0,
            "suggestion": 0.2,
            "praise": 0.8,
            "service_request": 0.0,
        }
    )
    first_response_target_share: float = 0.35  # median first response / SLA target
    first_response_sigma: float = 0.9  # log-normal sigma
    resolution_target_share: float = 0.4
    resolution_sigma: float = 0.8
    closed_share: float = 0.8  # resolved tickets later closed
    rating_share: float = 0.55  # resolved tickets the customer rated
    rating_probs: tuple[float, ...] = (0.06, 0.08, 0.16, 0.30, 0.40)
    ticket_survey_share: float = 0.3  # rated tickets also recorded as a csat response

    # --- interactions -----------------------------------------------------------------
    outbound_per_year: float = 0.8  # owned customers, times (1 + 4 diamond) * e^0.3
    inbound_chat_per_year: float = 0.3

    # --- loyalty -----------------------------------------------------------------------
    points_per_currency_unit: float = 1.0
    birthday_bonus: int = 200
    referral_bonus: int = 500
    redeem_block_cny: int = 1000
    redeem_block_usd: int = 200
    redeem_probability: float = 0.6
    redeem_delay_days: float = 30.0

    # --- referrals ---------------------------------------------------------------------
    referral_satisfaction_log: float = 0.9  # referrer weight exp(this * z) * e^0.5

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


#: SLA targets in hours by priority (mirrors ``[sla]`` in defaults.toml).
FIRST_RESPONSE_HOURS = {"low": 48.0, "normal": 24.0, "high": 8.0, "urgent": 2.0}
RESOLUTION_HOURS = {"low": 240.0, "normal": 120.0, "high": 48.0, "urgent": 12.0}
