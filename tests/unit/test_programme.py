"""The programme's arithmetic: periods, waits, medians, roll-ups of figures and targets."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.programme import (
    ClubSeeding,
    ProgrammeFigures,
    Target,
    club_figures,
    combine,
    median_days,
    reporting_period,
    rolled_up_targets,
)
from ledger.reports import InvalidReportRange

YEAR_START, YEAR_END = date(2025, 1, 1), date(2025, 12, 31)


def test_the_period_ends_on_december_31_or_today():
    assert reporting_period(2024, date(2025, 3, 4)) == (date(2024, 1, 1), date(2024, 12, 31))
    assert reporting_period(2025, date(2025, 3, 4)) == (date(2025, 1, 1), date(2025, 3, 4))
    with pytest.raises(InvalidReportRange):
        reporting_period(2026, date(2025, 12, 31))


def test_waits_and_days_to_seed():
    waiting = ClubSeeding(date(2025, 6, 1), None)
    assert waiting.days_waiting(YEAR_END) == 213 and waiting.days_to_seed is None
    seeded = ClubSeeding(date(2025, 2, 10), date(2025, 3, 2))
    assert seeded.days_waiting(YEAR_END) is None and seeded.days_to_seed == 20
    # Seeded after the report's end: still waiting at the end.
    assert seeded.days_waiting(date(2025, 3, 1)) == 19
    assert ClubSeeding(date(2025, 3, 2), date(2025, 3, 1)).days_to_seed == 0


def test_median_of_odd_and_even_counts():
    assert median_days([]) is None
    assert median_days([162, 20]) == Decimal("91.0")
    assert median_days([5, 1, 2]) == Decimal("2.0")
    assert median_days([1, 2]) == Decimal("1.5")


@given(st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=50))
def test_the_median_is_the_statistics_median(values):
    assert median_days(values) == Decimal(str(statistics.median(values))).quantize(
        Decimal("0.1"))


dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def clubs(draw):
    established = draw(dates)
    seeded = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=400)))
    seeding = ClubSeeding(established, None if seeded is None
                          else established + timedelta(days=seeded))
    return club_figures(
        seeding, YEAR_START, YEAR_END,
        seed_by_source=(draw(st.integers(0, 10**9)), 0, 0, draw(st.integers(0, 10**9)), 0),
        decision_numbers=draw(st.sets(st.sampled_from(["1/QĐ", "2/QĐ", "3/QĐ"]))),
        active_month_bits=sum(1 << m for m in draw(st.sets(st.integers(1, 12)))),
        members=draw(st.integers(0, 70)), members_women=0, members_aged_60_plus=0,
    )


@given(st.lists(clubs(), max_size=12), st.integers(min_value=0, max_value=12))
def test_combining_in_groups_equals_combining_at_once(figures, split):
    """A province's figures are the same whether its clubs are combined directly or
    through its districts: counts add up, the longest wait is the maximum and the
    median is taken over every club's days, never of the districts' medians."""
    whole = combine(figures)
    assert combine([combine(figures[:split]), combine(figures[split:])]) == whole
    assert whole.clubs_waiting == sum(f.longest_wait_days is not None for f in figures)
    assert whole.median_days_to_seed == median_days(
        d for f in figures for d in f.days_to_seed)
    assert whole.seed_total == sum(f.seed_total for f in figures)
    assert combine([]) == ProgrammeFigures()


def test_a_club_counts_as_established_and_seeded_only_in_its_year():
    earlier = club_figures(ClubSeeding(date(2024, 5, 20), date(2024, 6, 1)), YEAR_START,
                           YEAR_END, seed_by_source=(0,) * 5, decision_numbers=[],
                           active_month_bits=1 << 1, members=3, members_women=1,
                           members_aged_60_plus=2)
    assert (earlier.clubs_established, earlier.new_club_members, earlier.clubs_seeded,
            earlier.days_to_seed, earlier.clubs_waiting) == (0, 0, 0, (), 0)
    assert earlier.active_by_month == (1,) + (0,) * 11


def test_targets_roll_up_only_where_none_was_set():
    own = {"P": Target(5, 20, 100), "P2A": Target(1, 4, None), "P2N": Target(1, 3, 20),
           "P1A": Target(1, 5, 7)}
    children = {None: ["P"], "P": ["P1", "P2"], "P1": ["P1A"], "P2": ["P2A", "P2N"]}
    targets = rolled_up_targets(own, children, ["P"])
    assert targets["P"] == Target(5, 20, 100)
    assert targets["P2"] == Target(2, 7, None)
    assert targets["P1"] == Target(1, 5, 7)
    assert "X" not in targets
    assert rolled_up_targets({}, children, ["P"]) == {}


@given(st.sets(st.integers(1, 12)))
def test_a_club_is_active_in_exactly_the_months_of_its_bits(months):
    figures = club_figures(ClubSeeding(date(2024, 5, 20), None), YEAR_START, YEAR_END,
                           seed_by_source=(0,) * 5, decision_numbers=[],
                           active_month_bits=sum(1 << m for m in months), members=0,
                           members_women=0, members_aged_60_plus=0)
    assert figures.active_by_month == tuple(int(m in months) for m in range(1, 13))


@pytest.mark.parametrize("bits", [1, 1 << 13, -2])
def test_bits_that_are_not_months_1_to_12_are_refused(bits):
    with pytest.raises(ValueError, match="not a set of months"):
        club_figures(ClubSeeding(date(2024, 5, 20), None), YEAR_START, YEAR_END,
                     seed_by_source=(0,) * 5, decision_numbers=[], active_month_bits=bits,
                     members=0, members_women=0, members_aged_60_plus=0)
