"""How the auditor's pages write a report's figures: amounts, counts, ratios, days."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from service.pages.auditor_pages import count, figure_text, percent


def test_ratios_are_percentages_in_the_reader_s_language() -> None:
    assert percent(Decimal("0.9534"), "vi") == "95,3 %"
    assert percent(Decimal("0.9534"), "en") == "95.3 %"
    assert percent(Decimal("1"), "vi") == "100,0 %"
    assert percent(None, "vi") == "–"
    assert figure_text("par30", Decimal("0.05"), "vi", None) == "5,0 %"


def test_portfolio_figures_are_money_but_for_counts() -> None:
    assert figure_text("loans_outstanding", 1_500_000, "vi", None) == "1.500.000 ₫"
    assert figure_text("active_borrowers", 1234, "vi", None) == "1.234"
    assert figure_text("write_offs", 0, "en", None) == "0 ₫"


def test_programme_figures_name_their_amounts() -> None:
    amounts = frozenset({"seed_total"})
    assert figure_text("seed_total", 30_000_000, "vi", amounts) == "30.000.000 ₫"
    assert figure_text("longest_wait_days", 302, "vi", amounts) == "302"
    assert figure_text("median_days_to_seed", Decimal("12.5"), "vi", amounts) == "12,5"
    assert figure_text("median_days_to_seed", Decimal("12.5"), "en", amounts) == "12.5"
    assert figure_text("target_new_clubs", None, "vi", amounts) == "–"


@given(st.integers(min_value=0, max_value=10**15))
def test_a_count_reads_back_to_its_number(value: int) -> None:
    text = count(value)
    assert int(text.replace(".", "")) == value
    groups = text.split(".")
    assert all(len(group) == 3 for group in groups[1:]) and 1 <= len(groups[0]) <= 3
