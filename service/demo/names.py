"""Names for the demo province: places (before and after the 2025 reorganisation) and
people. Codes are illustrative, in the style of the GSO administrative unit codes."""

from __future__ import annotations

from typing import Final

PROVINCE: Final = ("51", "Quảng Ngãi")

# district code, name, [(commune code, commune name)]: the tree until 2025-07-01.
DISTRICTS: Final = (
    ("522", "Bình Sơn", [("20401", "Bình Thạnh"), ("20402", "Bình Chánh"),
                         ("20403", "Bình Dương"), ("20404", "Bình Hải")]),
    ("525", "Sơn Tịnh", [("20501", "Tịnh Hà"), ("20502", "Tịnh Sơn"),
                         ("20503", "Tịnh Bắc"), ("20504", "Tịnh Hiệp")]),
    ("527", "Tư Nghĩa", [("20601", "Nghĩa Kỳ"), ("20602", "Nghĩa Thuận"),
                         ("20603", "Nghĩa Lâm"), ("20604", "Nghĩa Sơn")]),
    ("528", "Nghĩa Hành", [("20701", "Hành Thuận"), ("20702", "Hành Dũng"),
                           ("20703", "Hành Minh"), ("20704", "Hành Đức")]),
    ("530", "Mộ Đức", [("20801", "Đức Chánh"), ("20802", "Đức Thạnh"),
                       ("20803", "Đức Lân"), ("20804", "Đức Phong")]),
)

# From 2025-07-01 the district level is gone and communes are merged two by two:
# each pair (in the order above) becomes one new commune directly under the province.
MERGED_COMMUNES: Final = (
    ("30401", "Bình Sơn"), ("30402", "Vạn Tường"),
    ("30501", "Tịnh Khê"), ("30502", "Sơn Tịnh"),
    ("30601", "Tư Nghĩa"), ("30602", "Nghĩa Giang"),
    ("30701", "Nghĩa Hành"), ("30702", "Đình Cương"),
    ("30801", "Mộ Đức"), ("30802", "Lân Phong"),
)

FAMILY_NAMES: Final = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lương",
)
FEMALE_MIDDLE: Final = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Kim", "Minh")
MALE_MIDDLE: Final = ("Văn", "Văn", "Văn", "Đức", "Minh", "Hữu", "Quang")
FEMALE_GIVEN: Final = (
    "Lan", "Hoa", "Mai", "Hương", "Thu", "Cúc", "Hồng", "Nga", "Tuyết", "Sen", "Liên", "Hạnh",
    "Bích", "Phượng", "Dung", "Loan", "Xuân", "Yến", "Nhung", "Thảo",
)
MALE_GIVEN: Final = (
    "Hùng", "Dũng", "Minh", "Tuấn", "Sơn", "Bình", "Hải", "Thành", "Long", "Phúc", "Tâm",
    "Trung", "Quang", "Lộc", "Tài", "Hòa",
)
LOAN_PURPOSES: Final = (
    "chăn nuôi bò", "chăn nuôi lợn", "nuôi gà", "buôn bán nhỏ", "trồng keo", "trồng lúa",
    "sửa chữa ghe", "mua máy may", "trồng rau", "làm bánh tráng",
)
DONORS: Final = (
    "Hội Người cao tuổi tỉnh", "HelpAge International", "Công ty Đường Quảng Ngãi",
    "Quỹ Bảo trợ trẻ em", "Một nhà hảo tâm",
)
EXPENSES: Final = (
    "Văn phòng phẩm", "Nước uống họp tháng", "Thăm hỏi thành viên ốm", "In sổ sách",
    "Sinh hoạt văn nghệ",
)
