"""The tests' own model of the report figures (docs/reports.md): each figure and the
code prefixes of its accounts (an account whose code begins with one counts in it),
written out here rather than read from the service, so that the tests check the
database's `clubfund_report_figure` against it."""

from __future__ import annotations

FIGURE_PREFIXES: dict[str, tuple[str, ...]] = {
    "capital_district_budget": ("4111",), "capital_other_budgets": ("4112",),
    "capital_donors": ("4113",), "capital_members": ("4114",),
    "capital_retained_surplus": ("4118",), "cash": ("111", "112"),
    "loans_outstanding": ("131",), "interest_earned": ("515",), "write_offs": ("811",),
}
# The figures that are balances at a date (the others move over a period).
STOCK_FIGURES = ("capital_district_budget", "capital_other_budgets", "capital_donors",
                 "capital_members", "capital_retained_surplus", "cash", "loans_outstanding")


def figure_of(code: str) -> str | None:
    """The figure an account of `code` counts in, if any."""
    return next((name for name, prefixes in FIGURE_PREFIXES.items()
                 if code.startswith(prefixes)), None)
