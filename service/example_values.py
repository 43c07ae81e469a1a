"""Values the OpenAPI examples of the schemas share, so that the ids in one example
point at the others (the club's fund, its member, the member's loan…). Examples only:
nothing else reads them."""

from __future__ import annotations

from pydantic.config import JsonDict

FUND_ID = "3f6b2c1e-8d4a-4c7b-9a15-2e7d0c9b4f61"
CLUB_ID = "b7e4a9d2-1c3f-4e8b-a6d0-5f2c8e1b7a93"
MEMBER_ID = "6a2f9e14-7c3b-4d85-b0e1-3c9d5f7a2e68"
CASH_ACCOUNT_ID = "c41e8f27-5b9a-4d3c-8e76-0a1b2d3f4e59"
MEMBERS_CAPITAL_ACCOUNT_ID = "8e3d1a6f-2c7b-4f90-a5d4-7b6c9e0f1a23"
ENTRY_ID = "f2a7c9e1-4b6d-4e83-9c05-1d8e3a7b6f42"
LOAN_ID = "5c8e2d4f-9a1b-4c7e-b3d6-2f0a8e9c1b57"
LOAN_ACCOUNT_ID = "d57a3c1e-8f2b-4e69-a0c4-3b9e6d2f7a18"
PERSON_ID = "a93d6e2b-0f4c-4b18-9e7a-6c5d2f1e8b30"
CORRECTION_ID = "1e7b4c9a-6d2f-4a3e-8b50-9f3c7e2d1a64"
TREASURER = "person:a93d6e2b-0f4c-4b18-9e7a-6c5d2f1e8b30"
CHAIR = "person:4d1c8f3a-7e2b-4a96-b5c0-8e9f2d6a1c37"
COMMUNE_CODE = "21085"  # a commune (GSO code)
AUDIT_STAMP: JsonDict = {
    "sequence": 42,
    "leaf_hash": "9b1f0c3e7a5d2b8c4e6f1a0d3c5b7e9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b",
}
ENTRY_HASH = "4c2e8a1f6b3d9e0c7a5f2b8d1e4c6a9f3b0d7e2c5a8f1b4d6e9c0a3f7b2d5e8c"
