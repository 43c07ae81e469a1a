"""The programme's arithmetic: a year's reporting period, how long a new club waited
for its seed money, the median of those waits, and targets rolled up the area tree.

Seed money is a seed grant from a public budget (district, commune or province: the
sources the plan obliges to fund each new club); donors' and members' seed grants are
reported by source but do not make a club seeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from typing import Final, NamedTuple

from ledger.reports import InvalidReportRange

YEAR_MIN, YEAR_MAX = 2000, 2100
MONTHS_IN_YEAR = 12


def reporting_period(year: int, today: date) -> tuple[date, date]:
    """January 1 of `year` to its end: December 31 for a past year, `today` for the
    current one (a wait is counted up to the day the report is read)."""
    if year > today.year:
        raise InvalidReportRange(f"the year {year} has not begun",
                                 f"năm {year} chưa bắt đầu")
    return date(year, 1, 1), min(date(year, 12, 31), today)


@dataclass(frozen=True, slots=True)
class ClubSeeding:
    """One club's dates: established, and its first seed money on or before the
    report's end (None: not seeded yet)."""

    established_on: date
    first_seed_on: date | None

    def days_waiting(self, as_of: date) -> int | None:
        """Days from establishment to `as_of` for a club without seed money by then."""
        if self.first_seed_on is not None and self.first_seed_on <= as_of:
            return None
        return max((as_of - self.established_on).days, 0)

    @property
    def days_to_seed(self) -> int | None:
        """Days from establishment to the first seed money (0 the same day; a grant
        recorded before the establishment date counts as 0)."""
        if self.first_seed_on is None:
            return None
        return max((self.first_seed_on - self.established_on).days, 0)

    def seeded_in(self, start: date, end: date) -> bool:
        return self.first_seed_on is not None and start <= self.first_seed_on <= end


def median_days(values: Iterable[int]) -> Decimal | None:
    """The median (the mean of the two middle values of an even count), to one decimal
    place, half-up; None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        value = Decimal(ordered[middle])
    else:
        value = Decimal(ordered[middle - 1] + ordered[middle]) / 2
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Target:
    new_clubs: int
    members: int
    fund_size: int | None


def rolled_up_targets(
    own: Mapping[str, Target], children: Mapping[str | None, list[str]], top: Iterable[str]
) -> dict[str, Target]:
    """Each area's target: its own when one was set for it, otherwise the sum of its
    sub-areas' (recursively); areas with neither are left out. A fund size is summed
    only when every sub-area that has a target gives one."""
    result: dict[str, Target] = {}
    for code in top:
        _roll_up_target(code, own, children, result)
    return result


def _roll_up_target(
    code: str, own: Mapping[str, Target], children: Mapping[str | None, list[str]],
    result: dict[str, Target],
) -> Target | None:
    """`rolled_up_targets` of one area, its sub-areas first (a function of its own: a
    closure calling itself would hold itself in a reference cycle)."""
    below = [t for t in (_roll_up_target(child, own, children, result)
                         for child in children.get(code, [])) if t is not None]
    target = own.get(code)
    if target is None and below:
        sizes = [t.fund_size for t in below]
        target = Target(
            new_clubs=sum(t.new_clubs for t in below),
            members=sum(t.members for t in below),
            fund_size=None if None in sizes else sum(s for s in sizes if s is not None),
        )
    if target is not None:
        result[code] = target
    return target


SEED_SOURCES = ("district_budget", "commune_budget", "province_budget", "donor", "members")


class ProgrammeFigures(NamedTuple):
    """A club's programme figures for a period, or an area's (`combine` of its clubs').

    Counts and amounts add up; `longest_wait_days` is the maximum and the median is
    taken over every club's `days_to_seed` together, never of the medians. A tuple (a
    province's report builds one per club and area: 11,000)."""

    clubs_established: int = 0
    new_club_members: int = 0
    clubs_seeded: int = 0
    seed_by_source: tuple[int, ...] = (0,) * len(SEED_SOURCES)
    clubs_waiting: int = 0
    longest_wait_days: int | None = None
    days_to_seed: tuple[int, ...] = ()
    decision_numbers: frozenset[str] = frozenset()
    active_by_month: tuple[int, ...] = (0,) * MONTHS_IN_YEAR
    members: int = 0
    members_women: int = 0
    members_aged_60_plus: int = 0

    @property
    def seed_total(self) -> int:
        return sum(self.seed_by_source)

    @property
    def median_days_to_seed(self) -> Decimal | None:
        return median_days(self.days_to_seed)


# Each pattern of active months (bit m - 1 set: active in month m) as its flags, month by
# month: built once (4,096 patterns), looked up for every club of a report.
MONTH_FLAGS: Final = tuple(tuple(pattern >> m & 1 for m in range(MONTHS_IN_YEAR))
                           for pattern in range(1 << MONTHS_IN_YEAR))


def club_figures(
    seeding: ClubSeeding, start: date, end: date, *, seed_by_source: Sequence[int],
    decision_numbers: Iterable[str], active_month_bits: int, members: int,
    members_women: int, members_aged_60_plus: int,
) -> ProgrammeFigures:
    """One club's figures for the period [start, end]: `seed_by_source` (in
    `SEED_SOURCES` order) and `decision_numbers` are its seed grants dated in the
    period; bit m of `active_month_bits` (m from 1 to 12) is set when it recorded an
    operation in month m."""
    if len(seed_by_source) != len(SEED_SOURCES):
        raise ValueError(f"{len(seed_by_source)} seed amounts for {len(SEED_SOURCES)} sources")
    if not 0 <= active_month_bits < 1 << (MONTHS_IN_YEAR + 1) or active_month_bits & 1:
        raise ValueError(f"{active_month_bits:#b} is not a set of months 1 to 12")
    established = start <= seeding.established_on <= end
    seeded = seeding.seeded_in(start, end)
    wait = seeding.days_waiting(end)
    days = seeding.days_to_seed
    # By position, in the fields' order (a tuple's keywords cost as much again, 10,000
    # times a report).
    return ProgrammeFigures(
        int(established),  # clubs_established
        members if established else 0,  # new_club_members
        int(seeded),  # clubs_seeded
        tuple(seed_by_source),
        int(wait is not None),  # clubs_waiting
        wait,  # longest_wait_days
        (days,) if seeded and days is not None else (),  # days_to_seed
        frozenset(decision_numbers),
        MONTH_FLAGS[active_month_bits >> 1],  # active_by_month
        members, members_women, members_aged_60_plus,
    )


def combine(figures: Iterable[ProgrammeFigures]) -> ProgrammeFigures:
    """The figures of a group of clubs (each club once), field by field: each field's
    column of values at once (one C-level sum, union or maximum per field)."""
    items = list(figures)
    if not items:
        return ProgrammeFigures()
    (established, new_club_members, seeded, seeds, waiting, waits, days, decisions,
     active, members, women, older) = zip(*items, strict=True)
    longest = [wait for wait in waits if wait is not None]
    return ProgrammeFigures(
        clubs_established=sum(established),
        new_club_members=sum(new_club_members),
        clubs_seeded=sum(seeded),
        seed_by_source=tuple(map(sum, zip(*seeds, strict=True))),
        clubs_waiting=sum(waiting),
        longest_wait_days=max(longest) if longest else None,
        days_to_seed=tuple(chain.from_iterable(days)),
        decision_numbers=frozenset().union(*decisions),
        active_by_month=tuple(map(sum, zip(*active, strict=True))),
        members=sum(members),
        members_women=sum(women),
        members_aged_60_plus=sum(older),
    )
