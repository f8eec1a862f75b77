"""Settings (environment, prefix ``RAPPORT_``) and business rules (one TOML file).

Two kinds of configuration, kept apart on purpose:

* :class:`Settings` says *where and how* Rapport runs: database URL, data directory,
  engine, time zone, locale. It comes from environment variables (``RAPPORT_DATABASE_URL``
  …) or a ``.env`` file.
* :class:`Rules` says *what the business means*: activity window, SLA targets, loyalty
  programme. It comes from the packaged ``defaults.toml`` overlaid with the user's TOML file
  (``RAPPORT_CONFIG_FILE``, or ``./rapport.toml`` when present).
"""

from __future__ import annotations

import re
import tomllib
from enum import Enum
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from rapport.domain import (
    DEFAULT_PURCHASE_STATUSES,
    AlertSeverity,
    CampaignChannel,
    EventKind,
    InteractionChannel,
    LifecycleStage,
    MessageChannel,
    OrderStatus,
    Role,
    SurveyKind,
    TicketPriority,
    ValueTier,
    ui_locale,
)
from rapport.errors import ConfigError

DEFAULT_RULES_RESOURCE = "defaults.toml"
#: The secret key of development set-ups; refused outside development.
DEFAULT_SECRET_KEY = "development-only-secret"
MIN_SECRET_KEY_LENGTH = 32
LOCAL_RULES_FILE = "rapport.toml"


class Settings(BaseSettings):
    """Where and how Rapport runs. Every field reads ``RAPPORT_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="RAPPORT_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///rapport.db",
        description="SQLAlchemy URL of the operational store (SQLite file or PostgreSQL).",
    )
    data_dir: Path = Field(
        default=Path(".rapport"),
        description="Directory for models, reports, reject files and engine state.",
    )
    config_file: Path | None = Field(
        default=None, description="TOML file with business rules; ./rapport.toml if present."
    )
    engine: Literal["duckdb", "postgres", "spark", "parquet"] = Field(
        default="duckdb", description="Analytics engine."
    )
    parquet_dir: Path | None = Field(
        default=None, description="Canonical tables as Parquet, for the parquet/spark engines."
    )
    spark_master: str = Field(default="local[2]", description="Spark master URL.")
    duckdb_memory_limit: str | None = Field(
        default=None,
        description=(
            "DuckDB memory limit, e.g. '4GB' "
            "(default: 1GB while scoring, else DuckDB's own, 80% of RAM)."
        ),
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Zone of naive input times and of presentation."
    )
    locale: Literal["zh_CN", "en"] = Field(
        default="zh_CN",
        description="Interface language: zh_CN or en (also written zh, zh-CN, en_US, en-GB …).",
    )
    environment: Literal["development", "production"] = "development"
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        repr=False,
        description="Signs the API's log-in tokens; outside development, 32+ characters.",
    )
    debug: bool = False
    access_token_minutes: int = Field(
        default=30, gt=0, le=24 * 60, description="Lifetime of an API log-in token (minutes)."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest API request body (bytes)."
    )
    max_page_size: int = Field(
        default=500, gt=0, le=10_000, description="Most rows one API list page returns."
    )
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=500,
        description="Deepest nesting of arrays and objects an API JSON body may have.",
    )
    password_min_length: int = Field(
        default=8, ge=8, le=128, description="Shortest password a staff account may have."
    )
    password_min_score: int = Field(
        default=3,
        ge=0,
        le=4,
        description="Weakest password accepted, as zxcvbn's strength score (0 = guessed at "
        "once … 4 = very hard to guess; 3: more than 10^8 guesses).",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed log-ins in a row of one account before it is locked out.",
    )
    login_address_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed log-ins in a row from one client address before it is locked out.",
    )
    login_lockout_seconds: int = Field(
        default=60,
        ge=1,
        description="First lock-out (seconds); each further failure doubles it.",
    )
    login_lockout_max_seconds: int = Field(
        default=900, ge=1, description="Longest lock-out (seconds)."
    )
    login_failure_window_seconds: int = Field(
        default=3600,
        ge=1,
        description="Failures are forgotten after this long without one (seconds, counted "
        "from the last failure or the end of the lock-out).",
    )
    busy_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "SQLite: how long a writer waits for the store's write lock (another import "
            "batch, a scoring run, API writes) before it fails with 'database is locked'."
        ),
    )

    @field_validator("locale", mode="before")
    @classmethod
    def _ui_locale(cls, value: Any) -> Any:
        return ui_locale(value) if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check_secrets(self) -> None:
        """Refuse the default or a short secret key outside development (the API server
        calls this before it starts).

        Raises
        ------
        ConfigError
            Saying how to set a proper key.
        """
        if self.environment == "development":
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            default = self.secret_key == DEFAULT_SECRET_KEY
            raise ConfigError(
                "RAPPORT_SECRET_KEY is the default, which is refused in {environment}"
                if default
                else "RAPPORT_SECRET_KEY is shorter than {length} characters, which is refused "
                "in {environment}",
                field="RAPPORT_SECRET_KEY",
                hint="set RAPPORT_SECRET_KEY to a random value, e.g. the output of python -c "
                '"import secrets; print(secrets.token_urlsafe(48))"',
                key="secret_key_default" if default else "secret_key_short",
                params={"length": MIN_SECRET_KEY_LENGTH, "environment": self.environment},
                hint_key="secret_key.hint",
            )

    def safe_database_url(self) -> str:
        """The database URL with any password masked."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessRules(_Strict):
    currency: str = Field(min_length=3, max_length=3)
    gross_margin: float = Field(gt=0, le=1)
    default_phone_region: str = Field(min_length=2, max_length=2)
    purchase_statuses: tuple[OrderStatus, ...] = Field(
        default=DEFAULT_PURCHASE_STATUSES, min_length=1
    )

    @field_validator("purchase_statuses")
    @classmethod
    def _no_unsettled_purchases(cls, value: tuple[OrderStatus, ...]) -> tuple[OrderStatus, ...]:
        never = {OrderStatus.CANCELLED, OrderStatus.REFUNDED} & set(value)
        if never:
            raise ValueError(
                f"{', '.join(sorted(never))} orders are never purchases; "
                "remove them from purchase_statuses"
            )
        return tuple(dict.fromkeys(value))


class ActivityRules(_Strict):
    window_days: int = Field(gt=0)


class SlaRules(_Strict):
    first_response_hours: dict[TicketPriority, float]
    resolution_hours: dict[TicketPriority, float]

    @field_validator("first_response_hours", "resolution_hours")
    @classmethod
    def _every_priority(cls, value: dict[TicketPriority, float]) -> dict[TicketPriority, float]:
        missing = [p.value for p in TicketPriority if p not in value]
        if missing:
            raise ValueError(f"missing targets for priorities {missing}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("targets must be positive hours")
        return value


#: What a programme tier is earned by over the rolling window: purchase net amount or points.
TierBasis = Literal["spend", "points"]
#: When a member's tier is reviewed (a downgrade only happens at a review, after the grace).
TierReview = Literal["monthly", "quarterly", "yearly", "anniversary"]


class LoyaltyTierRule(_Strict):
    """One programme tier: its thresholds over the rolling window (``min_points`` of points
    earned, ``min_spend`` of purchase net amount; ``[loyalty] tier_basis`` says which one
    counts) and its benefits: the priority of the member's tickets and the gifts of the tier
    (reward codes or text). The tier's earn multiplier is ``[loyalty.multipliers] tier``."""

    code: str
    min_points: int = Field(default=0, ge=0)
    min_spend: float = Field(default=0.0, ge=0)
    sla_priority: TicketPriority = TicketPriority.NORMAL
    gifts: list[str] = Field(default_factory=list)


class LoyaltyMultipliers(_Strict):
    """Earning multipliers: by product category (an order's lines weighted by their net
    amounts; lines of other categories count 1), by order channel and by the customer's
    programme tier. A key missing counts 1."""

    category: dict[str, float] = Field(default_factory=dict)
    channel: dict[str, float] = Field(default_factory=dict)
    tier: dict[str, float] = Field(default_factory=dict)

    @field_validator("category", "channel", "tier")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        negative = sorted(k for k, v in value.items() if v < 0)
        if negative:
            raise ValueError(f"multipliers must be 0 or more; negative: {', '.join(negative)}")
        return value


class LoyaltyBonuses(_Strict):
    """Bonus points by rule (0: the bonus is off). Each is posted once per customer (the
    birthday once a year), for events of the last ``window_days`` only, so that a bonus
    switched on never rewards the whole history."""

    welcome: int = Field(default=0, ge=0)
    birthday: int = Field(default=0, ge=0)
    first_repeat: int = Field(default=0, ge=0)
    referral: int = Field(default=0, ge=0)
    referred_welcome: int = Field(default=0, ge=0)
    referrals_per_year: int = Field(default=0, ge=0)
    window_days: int = Field(default=30, gt=0)


class LoyaltyEvaluation(_Strict):
    """How the programme is evaluated (docs/loyalty.md "Does the programme work?"): members
    against non-members matched exactly on coarse bins of their behaviour before joining."""

    window_months: int = Field(default=12, ge=1, le=60)
    baseline_months: int = Field(default=12, ge=1, le=60)
    order_bins: list[int] = Field(default_factory=lambda: [1, 2, 3, 5, 10])
    spend_bins: int = Field(default=4, ge=1, le=20)
    tenure_days: list[int] = Field(default_factory=lambda: [30, 180, 365, 730])
    match_on: list[Literal["city", "source_channel"]] = Field(default_factory=list)

    @field_validator("order_bins", "tenure_days")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value) or any(b <= a for a, b in pairwise(value)):
            raise ValueError("bin edges must be positive and increasing")
        return value


class LoyaltyRules(_Strict):
    """The loyalty programme. Tiers may be listed in any order: they are ranked by their
    threshold in ``tier_basis`` (``min_spend`` or ``min_points``), which must differ between
    tiers; codes are unique, and one tier starts at 0 so every member has a tier.
    ``value_tier_map`` maps value tiers of scoring onto programme tiers (a floor)."""

    points_per_currency_unit: float = Field(ge=0)
    points_expire_days: int = Field(gt=0)
    earn_from_orders: bool = True
    pending_days: int = Field(default=0, ge=0)
    max_points_per_order: int = Field(default=0, ge=0)
    multipliers: LoyaltyMultipliers = Field(default_factory=LoyaltyMultipliers)
    bonuses: LoyaltyBonuses = Field(default_factory=LoyaltyBonuses)
    tier_basis: TierBasis = "points"
    tier_window_months: int = Field(default=12, ge=1, le=120)
    tier_review: TierReview = "quarterly"
    tier_review_months: int = Field(default=12, ge=1, le=120)
    tier_grace_days: int = Field(default=30, ge=0)
    # An upgrade to a tier with gifts is a task for the member's owner (or gift_team's queue).
    gift_task_title: str = Field(
        default="为升级至{tier}的会员送上礼遇：{gifts}", min_length=1, max_length=200
    )
    gift_task_days: int = Field(default=7, ge=0, le=365)
    gift_team: str = Field(default="service", min_length=1, max_length=64)
    value_tier_map: dict[ValueTier, str] = Field(default_factory=dict)
    tiers: list[LoyaltyTierRule]  # after tier_basis: its validator reads the basis
    evaluation: LoyaltyEvaluation = Field(default_factory=LoyaltyEvaluation)

    @model_validator(mode="after")
    def _multiplied_tiers_exist(self) -> LoyaltyRules:
        codes = {t.code for t in self.tiers}
        unknown = sorted(set(self.multipliers.tier) - codes)
        if unknown:
            raise ValueError(
                f"[loyalty.multipliers.tier] names tiers that are not configured: "
                f"{', '.join(unknown)}"
            )
        unmapped = sorted(str(v) for v in set(self.value_tier_map.values()) - codes)
        if unmapped:
            raise ValueError(
                f"[loyalty.value_tier_map] names tiers that are not configured: "
                f"{', '.join(unmapped)}"
            )
        return self

    @field_validator("tiers")
    @classmethod
    def _unique_codes_and_a_base_tier(
        cls, value: list[LoyaltyTierRule], info: ValidationInfo
    ) -> list[LoyaltyTierRule]:
        codes = [t.code for t in value]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"tier codes must be unique; repeated: {', '.join(repeated)}")
        name = "min_spend" if info.data.get("tier_basis") == "spend" else "min_points"
        thresholds = [getattr(t, name) for t in value]
        if 0 not in thresholds:
            raise ValueError(f"one tier must have {name} = 0 (the tier every member starts in)")
        shared = sorted(t.code for t in value if thresholds.count(getattr(t, name)) > 1)
        if shared:
            raise ValueError(f"tiers need different {name}; the same in: {', '.join(shared)}")
        return value


# --- per-customer scores ([scores] in defaults.toml; docs/scores.md) -----------------------

#: The five stages of the customer lifecycle that the lifecycle stages map onto.
LifecyclePhase = Literal["acquisition", "conversion", "maintenance", "growth", "win_back"]
LIFECYCLE_PHASES: tuple[str, ...] = (
    "acquisition",
    "conversion",
    "maintenance",
    "growth",
    "win_back",
)


def _positive_weights(value: dict[Any, float], what: str) -> dict[Any, float]:
    if any(v < 0 for v in value.values()):
        raise ValueError(f"{what} weights must not be negative")
    if not any(v > 0 for v in value.values()):
        raise ValueError(f"at least one {what} weight must be positive")
    return value


def _complete(value: dict[Any, Any], enum: type[Enum], what: str) -> dict[Any, Any]:
    missing = [m.value for m in enum if m not in value]
    if missing:
        raise ValueError(f"missing {what} for {missing}")
    return value


class SatisfactionScoreRules(_Strict):
    half_life_days: float = Field(gt=0)
    ticket_rating_weight: float = Field(ge=0)
    complaint_weight: float = Field(ge=0)
    complaint_score: float = Field(ge=0, le=100)
    survey_weights: dict[SurveyKind, float]

    @field_validator("survey_weights")
    @classmethod
    def _weights(cls, value: dict[SurveyKind, float]) -> dict[SurveyKind, float]:
        return _positive_weights(_complete(value, SurveyKind, "survey weights"), "survey")


class LoyaltyScoreWeights(_Strict):
    repeat: float = Field(ge=0)
    recency: float = Field(ge=0)
    tenure: float = Field(ge=0)
    membership: float = Field(ge=0)


class LoyaltyScoreRules(_Strict):
    repeat_half: float = Field(gt=0)
    recency_half_life_days: float = Field(gt=0)
    tenure_full_days: float = Field(gt=0)
    weights: LoyaltyScoreWeights


class EngagementScoreRules(_Strict):
    recent_window_days: int = Field(gt=0)
    half_saturation: float = Field(gt=0)
    outbound_factor: float = Field(ge=0)
    event_weights: dict[EventKind, float]
    interaction_weights: dict[InteractionChannel, float]

    @field_validator("event_weights")
    @classmethod
    def _events(cls, value: dict[EventKind, float]) -> dict[EventKind, float]:
        return _positive_weights(_complete(value, EventKind, "event weights"), "event")

    @field_validator("interaction_weights")
    @classmethod
    def _interactions(
        cls, value: dict[InteractionChannel, float]
    ) -> dict[InteractionChannel, float]:
        value = _complete(value, InteractionChannel, "interaction weights")
        return _positive_weights(value, "interaction")


class AdvocacyScoreWeights(_Strict):
    nps: float = Field(ge=0)
    referrals: float = Field(ge=0)
    shares: float = Field(ge=0)


class AdvocacyScoreRules(_Strict):
    referrals_half: float = Field(gt=0)
    shares_half: float = Field(gt=0)
    shares_window_days: int = Field(gt=0)
    weights: AdvocacyScoreWeights


class DegreeWeights(_Strict):
    satisfaction: float = Field(ge=0)
    loyalty: float = Field(ge=0)
    engagement: float = Field(ge=0)
    advocacy: float = Field(ge=0)


class RelationshipIndexRules(_Strict):
    weights: DegreeWeights


ScoreRange = tuple[int, int]


class SegmentRule(_Strict):
    """One row of the RFM segment map: inclusive score ranges (default 1–5) → segment id."""

    id: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    r: ScoreRange = (1, 5)
    f: ScoreRange = (1, 5)
    m: ScoreRange = (1, 5)

    @field_validator("r", "f", "m")
    @classmethod
    def _range(cls, value: ScoreRange) -> ScoreRange:
        low, high = value
        if not 1 <= low <= high <= 5:
            raise ValueError(
                f"a score range is [low, high] with 1 <= low <= high <= 5, not {value}"
            )
        return value

    def matches(self, r: int, f: int, m: int) -> bool:
        return all(lo <= x <= hi for x, (lo, hi) in ((r, self.r), (f, self.f), (m, self.m)))


class RfmScoreRules(_Strict):
    window_days: int = Field(gt=0)
    lapsed_segment: str = Field(min_length=1, max_length=32)
    segments: list[SegmentRule]

    @field_validator("segments")
    @classmethod
    def _total(cls, value: list[SegmentRule]) -> list[SegmentRule]:
        uncovered = [
            (r, f, m)
            for r in range(1, 6)
            for f in range(1, 6)
            for m in range(1, 6)
            if not any(rule.matches(r, f, m) for rule in value)
        ]
        if uncovered:
            shown = ", ".join(f"r={r} f={f} m={m}" for r, f, m in uncovered[:3])
            more = f" and {len(uncovered) - 3} more" if len(uncovered) > 3 else ""
            raise ValueError(f"the segment map does not cover {shown}{more}")
        return value

    @model_validator(mode="after")
    def _lapsed_is_a_segment(self) -> RfmScoreRules:
        ids = [rule.id for rule in self.segments]
        if self.lapsed_segment not in ids:
            raise ValueError(f"lapsed_segment {self.lapsed_segment!r} is not one of {ids}")
        return self


class TierRule(_Strict):
    """The conditions of one value tier above bronze (all must hold)."""

    tier: ValueTier
    revenue_top_share: float = Field(default=1.0, gt=0, le=1)
    min_loyalty: float = Field(default=0.0, ge=0, le=100)
    min_satisfaction: float = Field(default=0.0, ge=0, le=100)
    min_engagement: float = Field(default=0.0, ge=0, le=100)
    max_churn_risk: float = Field(default=1.0, ge=0, le=1)
    excluded_stages: list[LifecycleStage] = Field(default_factory=list)


class TierScoreRules(_Strict):
    """Tier rules from the top tier down; bronze is every other buyer."""

    rules: list[TierRule]

    @field_validator("rules")
    @classmethod
    def _ordered(cls, value: list[TierRule]) -> list[TierRule]:
        order: list[ValueTier] = [t for t in ValueTier if t is not ValueTier.BRONZE]
        tiers = [rule.tier for rule in value]
        if ValueTier.BRONZE in tiers:
            raise ValueError("bronze has no rule: it is every buyer the other tiers leave")
        if len(set(tiers)) != len(tiers) or tiers != sorted(tiers, key=order.index):
            raise ValueError(f"list each tier once, from the top: {[t.value for t in order]}")
        return value


class LifecycleScoreRules(_Strict):
    new_days: int = Field(gt=0)
    at_risk_gap_factor: float = Field(gt=0)
    at_risk_min_days: int = Field(gt=0)
    at_risk_days: int = Field(gt=0)
    reactivated_days: int = Field(gt=0)
    growth_share: float = Field(ge=0)
    phases: dict[LifecycleStage, LifecyclePhase]

    @field_validator("phases")
    @classmethod
    def _every_stage(cls, value: dict[LifecycleStage, str]) -> dict[LifecycleStage, str]:
        return _complete(value, LifecycleStage, "lifecycle phases")


class DepthScoreWeights(_Strict):
    """Weights of the components of ``relationship_depth`` (equal by default)."""

    tenure: float = Field(default=1.0, ge=0)
    frequency: float = Field(default=1.0, ge=0)
    cross_buy: float = Field(default=1.0, ge=0)
    contact: float = Field(default=1.0, ge=0)
    channels: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _one_positive(self) -> DepthScoreWeights:
        _positive_weights(self.model_dump(), "relationship depth")
        return self


class DepthScoreRules(_Strict):
    """``relationship_depth`` 关系深度 (``[scores.depth]``; docs/scores.md)."""

    tenure_full_days: float = Field(default=1095.75, gt=0)
    contact_window_days: int = Field(default=90, gt=0)
    categories_full: int = Field(default=5, gt=0)
    channels_full: int = Field(default=4, gt=0)
    weights: DepthScoreWeights = Field(default_factory=DepthScoreWeights)


class ScoreRules(_Strict):
    """The per-customer scores of docs/metrics.md: four degrees, RFM, tiers, lifecycle, depth."""

    satisfaction: SatisfactionScoreRules
    loyalty: LoyaltyScoreRules
    engagement: EngagementScoreRules
    advocacy: AdvocacyScoreRules
    relationship_index: RelationshipIndexRules
    rfm: RfmScoreRules
    tiers: TierScoreRules
    lifecycle: LifecycleScoreRules
    depth: DepthScoreRules = Field(default_factory=DepthScoreRules)


def _unit_costs(value: dict[Any, float], enum: type, what: str) -> dict[Any, float]:
    value = _complete(value, enum, what)
    if any(v < 0 for v in value.values()):
        raise ValueError(f"{what} must not be negative")
    return value


#: Default unit costs (``[costs]`` in defaults.toml holds the documented values).
_INTERACTION_COSTS = {
    InteractionChannel.PHONE: 8.0,
    InteractionChannel.EMAIL: 2.0,
    InteractionChannel.CHAT: 3.0,
    InteractionChannel.VISIT: 40.0,
    InteractionChannel.SOCIAL: 1.0,
    InteractionChannel.AFTER_SALES: 15.0,
}
_TICKET_COSTS = {
    TicketPriority.LOW: 10.0,
    TicketPriority.NORMAL: 20.0,
    TicketPriority.HIGH: 40.0,
    TicketPriority.URGENT: 80.0,
}
_DELIVERY_COSTS = {
    CampaignChannel.EMAIL: 0.05,
    CampaignChannel.SMS: 0.05,
    CampaignChannel.WECHAT: 0.1,
    CampaignChannel.APP_PUSH: 0.01,
    CampaignChannel.PHONE: 5.0,
    CampaignChannel.DIRECT_MAIL: 3.0,
}


class CostRules(_Strict):
    """Unit costs of serving a customer (``[costs]``), in the business currency: customer
    maintenance cost 客户维护成本 (docs/metrics.md)."""

    interaction: dict[InteractionChannel, float] = Field(
        default_factory=lambda: dict(_INTERACTION_COSTS)
    )
    ticket: dict[TicketPriority, float] = Field(default_factory=lambda: dict(_TICKET_COSTS))
    delivery: dict[CampaignChannel, float] = Field(default_factory=lambda: dict(_DELIVERY_COSTS))
    point_value: float = Field(default=0.01, ge=0)

    @field_validator("interaction")
    @classmethod
    def _interactions(
        cls, value: dict[InteractionChannel, float]
    ) -> dict[InteractionChannel, float]:
        return _unit_costs(value, InteractionChannel, "interaction costs")

    @field_validator("ticket")
    @classmethod
    def _tickets(cls, value: dict[TicketPriority, float]) -> dict[TicketPriority, float]:
        return _unit_costs(value, TicketPriority, "ticket costs")

    @field_validator("delivery")
    @classmethod
    def _deliveries(cls, value: dict[CampaignChannel, float]) -> dict[CampaignChannel, float]:
        return _unit_costs(value, CampaignChannel, "delivery costs")


#: A local time of day, ``HH:MM`` (24 hours).
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class SmtpRules(_Strict):
    """The SMTP server e-mail leaves through (``[messages.smtp]``). The password is never in
    the file: ``password_env`` names the environment variable that holds it."""

    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    user: str = ""
    password_env: str = "RAPPORT_SMTP_PASSWORD"
    starttls: bool = False
    ssl: bool = False
    sender: str = "Rapport <noreply@localhost>"
    message_id_domain: str = Field(default="rapport.localhost", pattern=r"^[A-Za-z0-9.-]+$")

    @model_validator(mode="after")
    def _one_tls(self) -> SmtpRules:
        if self.ssl and self.starttls:
            raise ValueError("choose ssl (implicit TLS, port 465) or starttls, not both")
        return self


class WebhookRules(_Strict):
    """The signed webhook of SMS, WeChat and app push (``[messages.webhook]``): the URL that
    receives each channel's messages (empty: the channel is not set up), and the environment
    variable holding the HMAC-SHA256 secret. A ``webhook`` message's recipient is its URL."""

    urls: dict[MessageChannel, str] = Field(default_factory=dict)
    secret_env: str = "RAPPORT_WEBHOOK_SECRET"

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, value: dict[MessageChannel, str]) -> dict[MessageChannel, str]:
        if MessageChannel.EMAIL in value or MessageChannel.WEBHOOK in value:
            raise ValueError("urls are for sms, wechat and app_push (e-mail goes by SMTP)")
        bad = sorted(k for k, v in value.items() if v and not v.startswith(("http://", "https://")))
        if bad:
            raise ValueError(f"urls must start with http:// or https://: {', '.join(bad)}")
        return value


class MessageRules(_Strict):
    """How the outbox's messages leave (``[messages]``; docs/actions.md "Messages"): the
    sender's lease, retries with exponential back-off and jitter, the dead letter after
    ``max_attempts``, and the loop that sends between daily runs every ``poll_seconds``."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_seconds: float = Field(default=60.0, gt=0)
    backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    batch_size: int = Field(default=20, ge=1, le=1000)
    lease_seconds: float = Field(default=600.0, gt=0)
    poll_seconds: float = Field(default=30.0, gt=0)
    smtp: SmtpRules = Field(default_factory=SmtpRules)
    webhook: WebhookRules = Field(default_factory=WebhookRules)

    @model_validator(mode="after")
    def _lease_outlasts_a_batch(self) -> MessageRules:
        if self.backoff_max_seconds < self.backoff_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_seconds")
        if self.lease_seconds <= self.batch_size * self.timeout_seconds:
            raise ValueError(
                "lease_seconds must be longer than batch_size x timeout_seconds "
                f"({self.batch_size * self.timeout_seconds:g} s), or a slow batch loses its lease"
            )
        return self


#: The steps of the daily pipeline, in the order they run.
PipelineStep = Literal["score", "loyalty", "playbooks", "alerts", "expire_tasks", "messages"]
PIPELINE_STEPS: tuple[PipelineStep, ...] = (
    "score",
    "loyalty",
    "playbooks",
    "alerts",
    "expire_tasks",
    "messages",
)


class ScheduleRules(_Strict):
    """The daily pipeline (``[schedule]``; docs/actions.md "Running every day"): its local
    time (``settings.timezone``), its steps, the missed days caught up after downtime, and
    the lease that keeps it to one run at a time."""

    daily_at: str = Field(default="02:00", pattern=_CLOCK)
    steps: tuple[PipelineStep, ...] = PIPELINE_STEPS
    catch_up_days: int = Field(default=7, ge=1, le=366)
    lease_seconds: float = Field(default=300.0, ge=5)
    retry_minutes: float = Field(default=15.0, gt=0)

    @field_validator("steps")
    @classmethod
    def _in_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value) or list(value) != sorted(value, key=PIPELINE_STEPS.index):
            raise ValueError(f"list each step once, in the order {list(PIPELINE_STEPS)}")
        return value


class ModelRules(_Strict):
    """The predictive models: units, horizons and rates (``[models]``)."""

    time_unit: Literal["days", "weeks", "months"]
    time_resolution: Literal["day", "exact"]
    purchase_model: Literal["mbgnbd", "bgnbd", "paretonbd"]
    clv_horizon_months: int = Field(gt=0, le=120)
    annual_discount_rate: float = Field(ge=0, lt=1)
    churn_horizon_days: int = Field(gt=0, le=730)
    churn_reasons: int = Field(ge=0, le=10)
    min_repeat_buyers: int = Field(ge=1)


class PlaybookCap(_Strict):
    """At most ``max`` messages of ``channel`` to one customer in ``days`` days."""

    channel: MessageChannel
    max: int = Field(ge=0)
    days: int = Field(gt=0, le=3650)


class PlaybookRules(_Strict):
    """The action loop's playbooks (``[playbooks]``; docs/actions.md): which built-ins run,
    the holdout, quiet hours, frequency caps, overrides and the business's own playbooks.

    The definitions themselves (``overrides`` and ``custom``) are checked by
    :mod:`rapport.actions.playbooks`, which names the playbook and the field of an error.
    """

    disabled: tuple[str, ...] = ()
    holdout_share: float = Field(default=0.10, ge=0, le=1)
    global_control_share: float = Field(default=0.0, ge=0, lt=1)
    salt: str = ""
    send_time: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_hours_start: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_hours_end: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    caps: tuple[PlaybookCap, ...] = ()
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    custom: tuple[dict[str, Any], ...] = ()


class TaskRules(_Strict):
    """Tasks for staff (``[tasks]``; docs/actions.md "Tasks")."""

    expire_after_days: int = Field(default=7, ge=0, le=365)


#: The daily metrics the alert run watches for a value outside their expected band.
BandMetric = Literal["revenue", "new_complaints"]


class AlertRules(_Strict):
    """Alerts for staff and where they are sent (``[alerts]``; docs/actions.md "Alerts")."""

    churn_risk_threshold: float = Field(default=0.6, gt=0, lt=1)
    high_value_tiers: tuple[ValueTier, ...] = (ValueTier.DIAMOND, ValueTier.GOLD)
    high_value_clv: float = Field(default=0.0, ge=0)
    sla_warning_share: float = Field(default=0.25, gt=0, lt=1)
    band_metrics: tuple[BandMetric, ...] = ("revenue", "new_complaints")
    band_days: int = Field(default=28, ge=3, le=366)
    band_min_days: int = Field(default=14, ge=3, le=366)
    band_sd: float = Field(default=3.0, gt=0)
    email_roles: tuple[Role, ...] = (Role.MANAGER,)
    email_users: tuple[str, ...] = ()
    email_owner: bool = True
    email_to: tuple[str, ...] = ()
    email_min_severity: AlertSeverity = AlertSeverity.WARNING
    webhook_url: str = ""

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if "@" not in a.strip("@") or any(c.isspace() for c in a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("webhook_url must start with https:// (or http://), or be empty")
        return value

    @model_validator(mode="after")
    def _history(self) -> AlertRules:
        if self.band_min_days > self.band_days:
            raise ValueError("band_min_days must not exceed band_days")
        return self


class Rules(_Strict):
    """Business rules, from ``defaults.toml`` overlaid with the user's file."""

    business: BusinessRules
    activity: ActivityRules
    sla: SlaRules
    loyalty: LoyaltyRules
    scores: ScoreRules
    models: ModelRules
    costs: CostRules = Field(default_factory=CostRules)
    messages: MessageRules = Field(default_factory=MessageRules)
    schedule: ScheduleRules = Field(default_factory=ScheduleRules)
    playbooks: PlaybookRules = Field(default_factory=PlaybookRules)
    tasks: TaskRules = Field(default_factory=TaskRules)
    alerts: AlertRules = Field(default_factory=AlertRules)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


#: Where tomllib says its error is: "… (at line 3, column 7)" or "… (at end of document)".
_TOML_WHERE = re.compile(
    r"(?P<problem>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)",
    re.DOTALL,
)


def read_toml(path: Path, *, missing: ConfigError) -> dict[str, Any]:
    """The user's TOML file at ``path`` (the rules file, an import's mapping file).

    Raises
    ------
    ConfigError
        ``missing`` when there is no such file; when the file is not TOML (or not UTF-8),
        one naming the file, the line and the column, and what is wrong there
        (``toml_invalid``: the parser's words, shown in the user's language).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise missing from None
    try:
        text = data.decode("utf-8-sig")  # Windows editors may start the file with a BOM
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8-sig").rsplit("\n", 1)
        raise _toml_invalid(path, len(before), len(before[-1]) + 1, "not UTF-8 text") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_WHERE.fullmatch(str(exc))
        if found is None:  # not tomllib's usual form: its words as they are
            raise _toml_invalid(path, "?", "?", str(exc)) from exc
        if found["line"] is None:  # the end of the document
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
        else:
            line, column = int(found["line"]), int(found["column"])
        raise _toml_invalid(path, line, column, found["problem"]) from exc


def _toml_invalid(path: Path, line: int | str, column: int | str, problem: str) -> ConfigError:
    return ConfigError(
        "{path}, line {line}, column {column}: invalid TOML: {problem}",
        hint="fix the line it names",
        key="toml_invalid",
        params={"path": str(path), "line": line, "column": column, "problem": problem},
    )


def rules_file(settings: Settings) -> Path | None:
    """The user's rules file in effect, if any."""
    if settings.config_file is not None:
        return settings.config_file
    local = Path(LOCAL_RULES_FILE)
    return local if local.is_file() else None


def load_rules(settings: Settings | None = None) -> Rules:
    """Read the packaged defaults, overlay the user's file, validate.

    Raises
    ------
    ConfigError
        Naming the file and the key path of the first invalid entry.
    """
    settings = settings or get_settings()
    text = resources.files("rapport").joinpath(DEFAULT_RULES_RESOURCE).read_text("utf-8")
    data = tomllib.loads(text)
    source = "defaults"
    user = rules_file(settings)
    if user is not None:
        missing = ConfigError(
            "configuration file {path} does not exist",
            hint="check RAPPORT_CONFIG_FILE",
            key="config_file_missing",
            params={"path": str(user)},
        )
        data = _deep_merge(data, read_toml(user, missing=missing))
        source = str(user)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            "{source}: {where}: {why}",
            field=where,
            hint="fix the key or remove it",
            key="rules_invalid",
            params={"source": source, "where": where, "why": first["msg"]},
        ) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changes)."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "RAPPORT_" + ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(
            "{where}: {why}",
            field=where,
            hint="fix the variable (or the .env file) or unset it",
            key="setting_invalid",
            params={"where": where, "why": first["msg"]},
        ) from exc
