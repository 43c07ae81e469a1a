"""Column headers and row labels of the reports, in English and Vietnamese.

JSON field names never change; what a person reads (CSV and XLSX headers, the
`label` of JSON rows, the `columns` legend) follows `Accept-Language`: Vietnamese
when the caller prefers `vi`, English otherwise.
"""

from __future__ import annotations

from typing import Final

from service.language import Language, language_of

__all__ = ["LABELS", "Language", "columns", "label", "language_of"]

LABELS: Final[dict[str, tuple[str, str]]] = {
    # statement columns and rows
    "effective_date": ("Date", "Ngày"),
    "entry_id": ("Entry", "Bút toán"),
    "sequence": ("Sequence", "Số thứ tự"),
    "voucher_number": ("Voucher", "Số chứng từ"),
    "description": ("Description", "Diễn giải"),
    "debit": ("Debit", "Nợ"),
    "credit": ("Credit", "Có"),
    "balance": ("Balance", "Số dư"),
    "opening_balance": ("Opening balance", "Số dư đầu kỳ"),
    "closing_balance": ("Closing balance", "Số dư cuối kỳ"),
    "period_totals": ("Totals for the period", "Cộng phát sinh trong kỳ"),
    "statement": ("Account statement", "Sổ chi tiết tài khoản"),
    # trial balance
    "trial_balance": ("Trial balance", "Bảng cân đối số phát sinh"),
    "code": ("Account code", "Số hiệu tài khoản"),
    "name": ("Account", "Tên tài khoản"),
    "type": ("Type", "Loại"),
    "debits": ("Debits", "Phát sinh Nợ"),
    "credits": ("Credits", "Phát sinh Có"),
    "debit_balance": ("Debit balance", "Số dư Nợ"),
    "credit_balance": ("Credit balance", "Số dư Có"),
    "total": ("Total", "Tổng cộng"),
    "currency": ("Currency", "Loại tiền"),
    "asset": ("Asset", "Tài sản"),
    "liability": ("Liability", "Nợ phải trả"),
    "equity": ("Equity", "Vốn chủ sở hữu"),
    "income": ("Income", "Thu nhập"),
    "expense": ("Expense", "Chi phí"),
    # balance sheet and income statement
    "balance_sheet": ("Balance sheet", "Bảng cân đối kế toán"),
    "income_statement": ("Income statement", "Báo cáo kết quả hoạt động"),
    "section": ("Section", "Mục"),
    "amount": ("Amount", "Số tiền"),
    "assets": ("Assets", "Tài sản"),
    "liabilities": ("Liabilities", "Nợ phải trả"),
    "expenses": ("Expenses", "Chi phí"),
    "total_assets": ("Total assets", "Tổng tài sản"),
    "total_liabilities": ("Total liabilities", "Tổng nợ phải trả"),
    "total_equity": ("Total equity", "Tổng vốn"),
    "total_income": ("Total income", "Tổng thu nhập"),
    "total_expenses": ("Total expenses", "Tổng chi phí"),
    "prior_years_surplus": ("Surplus of earlier years not yet closed",
                            "Chênh lệch thu chi các năm trước chưa kết chuyển"),
    "current_year_surplus": ("Surplus of the current year", "Chênh lệch thu chi năm nay"),
    "total_liabilities_and_equity": ("Total liabilities, equity and surplus",
                                     "Tổng nguồn vốn"),
    "surplus": ("Surplus (income − expenses)", "Chênh lệch thu chi"),
    # portfolio
    "portfolio": ("Portfolio report", "Báo cáo hoạt động quỹ"),
    "level": ("Level", "Cấp"),
    "area_code": ("Area code", "Mã địa bàn"),
    "area_name": ("Area", "Địa bàn"),
    "club": ("Club", "Câu lạc bộ"),
    "commune": ("Commune", "Xã"),
    "district": ("District", "Huyện"),
    "province": ("Province", "Tỉnh"),
    "club_id": ("Club id", "Mã câu lạc bộ"),
    "clubs": ("Clubs", "Số câu lạc bộ"),
    "capital_district_budget": ("Capital from district budgets", "Vốn ngân sách huyện"),
    "capital_other_budgets": ("Capital from other budgets",
                              "Vốn ngân sách xã, tỉnh"),
    "capital_donors": ("Capital from donors", "Vốn tài trợ"),
    "capital_members": ("Capital from members", "Vốn hội viên đóng góp"),
    "capital_retained_surplus": ("Retained surplus", "Vốn bổ sung từ chênh lệch thu chi"),
    "capital_total": ("Fund capital", "Tổng vốn quỹ"),
    "cash": ("Cash and deposits", "Tiền mặt và tiền gửi"),
    "loans_outstanding": ("Loans outstanding", "Dư nợ cho vay"),
    "active_borrowers": ("Active borrowers", "Số người đang vay"),
    "active_borrowers_women": ("of whom women", "trong đó nữ"),
    "active_borrowers_aged_60_plus": ("of whom aged 60+", "trong đó từ 60 tuổi"),
    "amount_fallen_due": ("Amount fallen due", "Số tiền đến hạn"),
    "amount_repaid_of_due": ("Repaid of amount due", "Số tiền đã trả của số đến hạn"),
    "repayment_rate": ("Repayment rate", "Tỷ lệ hoàn trả"),
    "outstanding_at_risk_30": ("Outstanding > 30 days overdue", "Dư nợ quá hạn trên 30 ngày"),
    "par30": ("PAR30", "Tỷ lệ nợ quá hạn trên 30 ngày (PAR30)"),
    "interest_earned": ("Interest earned", "Thu lãi"),
    "write_offs": ("Write-offs", "Nợ xóa"),
    # programme
    "programme": ("Programme report", "Báo cáo chương trình"),
    "programme_title": (
        "Report on the plan for Intergenerational Self-Help Clubs",
        "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH NHÂN RỘNG CÂU LẠC BỘ LIÊN THẾ HỆ TỰ GIÚP NHAU",
    ),
    "programme_period": ("Year {year} (from {start} to {end})",
                         "Năm {year} (từ ngày {start} đến ngày {end})"),
    "programme_area": ("Area: {area}", "Địa bàn: {area}"),
    "programme_plan": ("Plan: {plan}", "Kế hoạch: {plan}"),
    "every_province": ("every province", "tất cả các tỉnh"),
    "place_and_date": ("…, day … month … year …", "…, ngày … tháng … năm …"),
    "prepared_by": ("PREPARED BY", "NGƯỜI LẬP BIỂU"),
    "head_of_department": ("HEAD OF DEPARTMENT", "THỦ TRƯỞNG ĐƠN VỊ"),
    "signature_and_name": ("(signature, full name)", "(Ký, ghi rõ họ tên)"),
    "signature_and_seal": ("(signature, full name, seal)", "(Ký, ghi rõ họ tên, đóng dấu)"),
    "established_on": ("Established on", "Ngày thành lập"),
    "target_new_clubs": ("Target: new clubs", "Chỉ tiêu CLB thành lập mới"),
    "clubs_established": ("Clubs established in the year", "Số CLB thành lập trong năm"),
    "target_members": ("Target: members", "Chỉ tiêu thành viên"),
    "new_club_members": ("Members of the new clubs", "Thành viên các CLB mới"),
    "target_fund_size": ("Target: seed money", "Chỉ tiêu vốn hỗ trợ ban đầu"),
    "clubs_seeded": ("Clubs seeded in the year", "Số CLB được cấp vốn trong năm"),
    "seed_district_budget": ("Seed money: district budget", "Vốn cấp: ngân sách huyện"),
    "seed_commune_budget": ("Seed money: commune budget", "Vốn cấp: ngân sách xã"),
    "seed_province_budget": ("Seed money: province budget", "Vốn cấp: ngân sách tỉnh"),
    "seed_donor": ("Seed money: donors", "Vốn cấp: nhà tài trợ"),
    "seed_members": ("Seed money: members", "Vốn cấp: thành viên"),
    "seed_total": ("Seed money: total", "Tổng vốn cấp trong năm"),
    "decision_numbers": ("Decisions", "Số quyết định"),
    "clubs_waiting": ("Clubs not yet seeded", "Số CLB chưa được cấp vốn"),
    "days_waiting": ("Days waiting", "Số ngày chờ cấp vốn"),
    "longest_wait_days": ("Longest wait (days)", "Thời gian chờ lâu nhất (ngày)"),
    "days_to_seed": ("Days to seed money", "Số ngày từ thành lập đến cấp vốn"),
    "median_days_to_seed": ("Median days to seed money",
                            "Trung vị số ngày từ thành lập đến cấp vốn"),
    **{f"active_month_{m}": (f"Active clubs, month {m}", f"CLB hoạt động tháng {m}")
       for m in range(1, 13)},
    "members": ("Members", "Số thành viên"),
    "members_women": ("of whom women", "trong đó nữ"),
    "members_aged_60_plus": ("of whom aged 60+", "trong đó từ 60 tuổi"),
    # a loan's schedule
    "schedule": ("Repayment schedule", "Lịch trả nợ"),
    "loan_schedule": ("Repayment schedule of loan no. {number} ({member})",
                      "Lịch trả nợ khoản vay số {number} ({member})"),
    "installment_number": ("Instalment", "Kỳ trả"),
    "due_date": ("Due date", "Ngày đến hạn"),
    "principal": ("Principal", "Gốc"),
    "interest": ("Interest", "Lãi"),
    "principal_paid": ("Principal paid", "Gốc đã trả"),
    "interest_paid": ("Interest paid", "Lãi đã trả"),
    "remaining": ("Remaining", "Còn phải trả"),
    # a member's passbook
    "passbook": ("Passbook", "Sổ thành viên"),
    "member_passbook": ("Passbook of {member}", "Sổ theo dõi thành viên {member}"),
    "operation": ("Operation", "Nghiệp vụ"),
    "loan_number": ("Loan no.", "Khoản vay số"),
    "contribution": ("Contribution", "Góp vốn"),
    "disbursed": ("Loan disbursed", "Giải ngân"),
    "repayment": ("Repayment", "Trả nợ"),
    "penalty": ("Penalty", "Phạt"),
    "contributions_total": ("Contributions to date", "Lũy kế góp vốn"),
    "outstanding_principal": ("Outstanding principal", "Dư nợ gốc"),
}


def label(key: str, language: Language) -> str:
    english, vietnamese = LABELS[key]
    return vietnamese if language == "vi" else english


def columns(keys: list[str], language: Language) -> dict[str, str]:
    """Field name → its header in `language`."""
    return {key: label(key, language) for key in keys}
