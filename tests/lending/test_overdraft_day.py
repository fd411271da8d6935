"""An overdraft line's business date in plain Python (`plan_line_day`): what is booked, when
the monthly charge falls (clamped to short months), and how a refused charge ages."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from neobank.ledger.domain import ItemOutcome, ResultCode
from neobank.lending.overdraft_day import Charge, LineState, plan_line_day

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def line(**changes: object) -> LineState:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "account_id": uuid.uuid4(),
        "currency": "KRW",
        "rate_bps": 750,
        "start_date": date(2026, 1, 31),
        "last_cob_date": date(2026, 2, 1),
        "accrued_interest": Decimal(0),
        "interest_booked": 0,
        "delinquency_bucket": "current",
        "updated_at": NOW,
        "balance": 0,
        "charged_total": 0,
        "unpaid": (),
    }
    base.update(changes)
    return LineState(**base)  # type: ignore[arg-type]


def test_nothing_used_books_nothing() -> None:
    day = plan_line_day(line(balance=250_000), date(2026, 2, 2))
    assert (day.used, day.booked, day.collect, day.chains) == (0, 0, 0, [])


def test_a_day_on_a_million_books_whole_won_and_keeps_the_fraction() -> None:
    # 1,000,000 x 7.5 % / 365 = 205.479452... won a day.
    day = plan_line_day(line(balance=-1_000_000), date(2026, 2, 2))
    assert (day.used, day.accrued, day.booked) == (1_000_000, Decimal("205.479452"), 205)
    assert len(day.chains) == 1 and day.chains[0][0].amount == 205
    nxt = plan_line_day(
        line(balance=-1_000_000, accrued_interest=day.accrued, interest_booked=205),
        date(2026, 2, 2),
    )
    assert nxt.booked == 205  # 410.958904: the fraction waits, nothing lost


def test_the_monthly_charge_falls_on_the_clamped_day() -> None:
    # Started 31 January: the first charge is on 28 February, the second on 31 March.
    state = line(
        balance=-1_000_000,
        last_cob_date=date(2026, 2, 27),
        accrued_interest=Decimal("5000.5"),
        interest_booked=5_000,
    )
    day = plan_line_day(state, date(2026, 2, 28))
    assert day.new_charge == Charge(1, date(2026, 2, 28), 5_000 + day.booked, 0)
    assert day.collect == day.new_charge.interest_due
    assert [c[0].amount for c in day.chains] == [day.booked, day.collect]
    assert plan_line_day(state, date(2026, 2, 28)).new_charge is not None
    march = line(
        last_cob_date=date(2026, 3, 30),
        accrued_interest=Decimal("10.25"),
        interest_booked=10,
        charged_total=4,
    )
    assert plan_line_day(march, date(2026, 3, 31)).new_charge == Charge(2, date(2026, 3, 31), 6, 0)
    assert plan_line_day(march, date(2026, 3, 31)).collect == 6
    assert (
        plan_line_day(replace(march, last_cob_date=date(2026, 3, 1)), date(2026, 3, 30)).new_charge
        is None
    )


def test_a_refused_charge_ages_and_is_asked_for_again() -> None:
    owed = Charge(1, date(2026, 2, 28), 6_000, 0)
    state = line(last_cob_date=date(2026, 3, 4), unpaid=(owed,), charged_total=6_000)
    day = plan_line_day(state, date(2026, 3, 5))
    assert day.collect == 6_000 and day.new_charge is None
    refused = day.render([ItemOutcome(ResultCode.INSUFFICIENT_FUNDS, 0)], NOW)
    assert refused.answer.body["days_past_due"] == 5
    assert refused.answer.body["delinquency_bucket"] == "1-30"
    assert [e.type for e in refused.events] == ["loan.delinquency_changed"]
    paid = day.render([ItemOutcome(ResultCode.OK)], NOW)
    assert (paid.answer.body["days_past_due"], paid.answer.body["charged"]) == (0, 6_000)
    assert [e.type for e in paid.events] == ["loan.interest_charged"]
