"""The loyalty panel of the 360 card: the points balance, what is pending and when points
expire next, the customer's vouchers, and two writes — redeem a reward of the catalogue for
the customer, and mark one of their vouchers used.

The writes are the API's (``POST /api/v1/customers/{id}/loyalty/vouchers`` and
``POST /api/v1/loyalty/vouchers/{code}/use``): the same store functions
(:func:`rapport.store.loyalty_rewards.redeem`, :func:`~rapport.store.loyalty_rewards.use_voucher`)
in one writer's transaction with the same audit entry (``create`` / ``update`` of
``loyalty_vouchers``, ``via: web``), the same roles (``rapport.access.WRITERS``:
``redemptions``, ``vouchers``) and the customer's scope (another customer is the not-found
page). What the store refuses — too few points, out of stock, no longer offered, a voucher
used before — is shown in the panel in the page's language (:mod:`rapport.i18n.errors`).

The panel has no menu entry: it is part of the card (:mod:`rapport.web.card`), which builds
its context with :func:`loyalty_panel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.access import CustomerScope, Principal, may_write
from rapport.domain import AuditAction, LoyaltyReason, RewardKind, TicketPriority
from rapport.errors import NotFound, RapportError
from rapport.i18n.errors import error_text
from rapport.i18n.locale import pick
from rapport.masking import mask_identifier, mask_ledger_entry
from rapport.store import audit, loyalty, loyalty_expiry, loyalty_rewards, loyalty_tiers
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import CSRF, RoleRefused, WebUser, client_address, writing
from rapport.web.i18n import Formatter

router = APIRouter(include_in_schema=False)
#: Loyalty ledger entries shown on the card.
LEDGER_ENTRIES = 5
#: Vouchers shown on the card, newest first (the counts cover all).
VOUCHER_ENTRIES = 20
#: The part of the card HTMX swaps after a write.
PANEL = "loyalty-panel"


@dataclass
class LoyaltyForm:
    """The state of the panel's writes: the reward chosen, the problem of the last write,
    and the voucher just issued or used."""

    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    issued: str | None = None
    used: str | None = None


def _next_tier(programme: dict[str, Any], fmt: Formatter) -> str | None:
    """The next tier and what the basis misses for it, e.g. ``白金会员（还差消费额 3,800）``."""
    above = programme["next_tier"]
    if above is None:
        return None
    missing = programme["to_next_tier"]
    amount = fmt.money(missing) if programme["basis"] == "spend" else fmt.number(missing)
    return fmt.t(
        "card_loyalty.next_tier",
        tier=pick((above["name_zh"], above["name_en"]), fmt.locale),
        missing=amount,
        basis=fmt.t(f"card_loyalty.basis_{programme['basis']}"),
    )


def _benefits(benefits: dict[str, Any], fmt: Formatter) -> str:
    """A tier's benefits in one line: the earn multiplier, the service priority, the gifts."""
    multiplier = benefits["earn_multiplier"]
    whole = float(multiplier).is_integer()
    parts = [
        fmt.t("card_loyalty.multiplier", times=fmt.number(multiplier, 0 if whole else 2)),
        fmt.t(
            "card_loyalty.priority",
            priority=fmt.enum(TicketPriority(benefits["sla_priority"])),
        ),
        *benefits["gifts"],
    ]
    return " · ".join(parts)


def loyalty_panel(
    session: Any,
    *,
    scope: CustomerScope,
    customer_id: int,
    rules: Any,
    fmt: Formatter,
    form: LoyaltyForm | None = None,
) -> dict[str, Any]:
    """What the panel shows of the customer ``customer_id``: the points balance (the sum of
    the ledger), the programme tier (:mod:`rapport.store.loyalty_tiers`; none for a
    non-member) and its next review, the points pending (an order's returns
    window) and available to spend, the next expiry, the newest ledger entries and vouchers
    (references and codes masked for analysts), the active rewards in stock the available
    points pay for, and which writes the user's role may make."""
    masked = scope.masked
    now = utcnow()
    points = loyalty.balance(session=session, customer_id=customer_id)
    pending = loyalty.pending(session=session, customer_id=customer_id, at=now)
    expiring = loyalty_expiry.customer_expiring(
        session,
        customer_id=customer_id,
        expire_days=rules.loyalty.points_expire_days,
        after=now,
    )
    programme = loyalty_tiers.tier_card(
        session, customer_id=customer_id, rules=rules, at=now, tz=fmt.zone
    )
    available = points - pending
    user = scope.principal
    may = {
        "redeem": not masked and may_write(user, "redemptions"),
        "use": not masked and may_write(user, "vouchers"),
    }
    rewards = (
        [
            _reward(r, fmt)
            for r in loyalty_rewards.catalogue(session=session, active_only=True)
            if r["points"] <= available and (r["stock"] is None or r["stock"] > 0)
        ]
        if may["redeem"]
        else []
    )
    return {
        "balance": points,
        "tier": pick((programme["tier"]["name_zh"], programme["tier"]["name_en"]), fmt.locale)
        if programme
        else None,
        "tier_review_on": programme["review_on"] if programme else None,
        "tier_next": _next_tier(programme, fmt) if programme else None,
        "tier_benefits": _benefits(programme["benefits"], fmt) if programme else None,
        "pending": pending,
        "available": available,
        "next_expiry": expiring[0] if expiring else None,
        "entries": ledger_rows(
            session, customer_id=customer_id, limit=LEDGER_ENTRIES, masked=masked
        ),
        "vouchers": voucher_rows(
            session, customer_id=customer_id, limit=VOUCHER_ENTRIES, fmt=fmt, masked=masked
        ),
        "voucher_counts": loyalty_rewards.customer_voucher_counts(
            session=session, customer_id=customer_id
        ),
        "rewards": rewards,
        "may": may,
        "form": form or LoyaltyForm(),
    }


def ledger_rows(
    session: Any, *, customer_id: int, limit: int, masked: bool
) -> list[dict[str, Any]]:
    """The customer's newest ``limit`` loyalty ledger entries as the card shows them: the
    reason as its :class:`~rapport.domain.LoyaltyReason`, the reference masked for an
    analyst."""
    entries = loyalty.latest_entries(session=session, customer_id=customer_id, limit=limit)
    return [
        {**(mask_ledger_entry(e) if masked else e), "reason": _enum(LoyaltyReason, e["reason"])}
        for e in entries
    ]


def voucher_rows(
    session: Any, *, customer_id: int, limit: int, fmt: Formatter, masked: bool
) -> list[dict[str, Any]]:
    """The customer's newest ``limit`` vouchers as the card shows them: the reward's name in
    the user's language, the code masked for an analyst."""
    vouchers = loyalty_rewards.customer_vouchers(
        session=session, customer_id=customer_id, limit=limit
    )
    return [_voucher(v, fmt, masked) for v in vouchers]


def _enum(enum: type, value: Any) -> Any:
    try:
        return enum(getattr(value, "value", value))
    except ValueError:
        return None


def _reward(row: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": pick((row["name_zh"], row["name_en"]), fmt.locale),
        "kind": _enum(RewardKind, row["kind"]),
        "points": row["points"],
        "stock": row["stock"],
    }


def _voucher(row: dict[str, Any], fmt: Formatter, masked: bool) -> dict[str, Any]:
    return {
        "code": mask_identifier(row["code"]) if masked else row["code"],
        "reward": pick((row["name_zh"], row["name_en"]), fmt.locale),
        "kind": _enum(RewardKind, row["kind"]),
        "points": row["points"],
        "issued_at": row["issued_at"],
        "used_at": row["used_at"],
    }


# --- the writes ------------------------------------------------------------------------------

FormText = Annotated[str, Form(max_length=200)]


@router.post("/customers/{customer_id}/loyalty/redeem", dependencies=CSRF)
def redeem_reward(
    request: Request, user: WebUser, customer_id: str, reward: FormText = ""
) -> Response:
    """Spend the price of the reward ``reward`` (its code) for the customer and issue its
    voucher, as ``POST /api/v1/customers/{id}/loyalty/vouchers``."""
    if not may_write(user, "redemptions"):
        raise RoleRefused()
    fmt = render.formatter(request)
    chosen = reward.strip()

    def work(session: Any, number: int) -> LoyaltyForm:
        if not chosen:
            return LoyaltyForm(error=fmt.t("card_loyalty.choose_reward"))
        voucher = loyalty_rewards.redeem(
            session=session,
            customer_id=number,
            code=chosen,
            at=utcnow(),
            created_by=user.user_id,
        )
        _audit(
            request,
            session,
            user,
            AuditAction.CREATE,
            voucher["id"],
            {"customer_id": number, "reward": chosen, "points": voucher["reward"]["points"]},
        )
        return LoyaltyForm(issued=voucher["code"])

    return _write(request, user, customer_id, {"reward": chosen}, work)


@router.post("/customers/{customer_id}/loyalty/use", dependencies=CSRF)
def use_voucher(request: Request, user: WebUser, customer_id: str, code: FormText = "") -> Response:
    """Mark the customer's voucher ``code`` used, as ``POST
    /api/v1/loyalty/vouchers/{code}/use`` (once: a second time says when it was used)."""
    if not may_write(user, "vouchers"):
        raise RoleRefused()
    given = code.strip()

    def work(session: Any, number: int) -> LoyaltyForm:
        found = loyalty_rewards.voucher(session=session, code=given)
        if found["customer_id"] != number:  # not this customer's: as a missing voucher
            raise NotFound(
                "no {entity} with {key_name} {key!r}",
                table="loyalty_vouchers",
                field="code",
                value=given,
                key="record_not_found_by_key",
                params={"entity": "voucher", "key_name": "code", "key": given},
            )
        row = loyalty_rewards.use_voucher(session=session, code=given, at=utcnow())
        _audit(request, session, user, AuditAction.UPDATE, row["id"], {"used": True})
        return LoyaltyForm(used=given)

    return _write(request, user, customer_id, {}, work)


def _audit(
    request: Request,
    session: Any,
    user: Principal,
    action: AuditAction,
    voucher_id: int,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session=session,
        actor=user.actor,
        actor_user_id=user.user_id,
        action=action,
        entity="loyalty_vouchers",
        entity_id=voucher_id,
        detail={"via": user.via, **detail},
        client_address=client_address(request),
    )


def _write(
    request: Request,
    user: Principal,
    customer_id: str,
    values: dict[str, str],
    work: Any,
) -> Response:
    """Run ``work(session, customer id)`` for a customer of the user's scope, in a writer's
    transaction with the customer's ledger locked first (as the API does), and answer the
    panel (HTMX), the card again (a plain post: 303 when written, the card with the
    problem, 422, when not), or the not-found page."""
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    try:
        number = render.customer_number(customer_id)

        def run(session: Any) -> LoyaltyForm:
            loyalty.lock_customer(session=session, customer_id=number)
            scope.get(session=session, id=number)
            state: LoyaltyForm = work(session, number)
            return state

        state = writing(request, run)
    except NotFound as exc:
        if exc.table == "customers":
            return render.not_found(request)
        state = LoyaltyForm(error=error_text(exc, fmt.locale))
    except RapportError as exc:  # too few points, out of stock, not offered, used before
        state = LoyaltyForm(error=error_text(exc, fmt.locale))
    if state.error is not None:
        state.values = values
    htmx = request.headers.get("hx-request") == "true"
    if state.error is None and not htmx:
        return render.redirect(request, f"/customers/{number}#{PANEL}")
    rules = request.app.state.rules
    with request.app.state.sessions() as session:
        if not htmx:  # the whole card, with the panel's problem
            from rapport.web import card

            row = scope.get(session=session, id=number)
            context = card.card_context(request, session, scope, row, loyalty_form=state)
            card.audit_card_read(request, user, scope, number)
            return render.page(request, "customer.html", context, status=422)
        panel = loyalty_panel(
            session, scope=scope, customer_id=number, rules=rules, fmt=fmt, form=state
        )
    return render.page(
        request, "customer_loyalty.html", {"customer": {"id": number}, "loyalty": panel}
    )
