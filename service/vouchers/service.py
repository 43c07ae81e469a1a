"""What a printed voucher shows: a receipt voucher (phiếu thu, form 01-TT) for money in,
a payment voucher (phiếu chi, form 02-TT) for money out, of Circular 133/2016/TT-BTC.

Everything comes from the entry as posted (its voucher number, date, description,
postings and metadata) and its audit record: the voucher carries, as a QR code, the
address of the entry's audit receipt (`GET /v1/entries/{entry_id}/receipt`) with the
record's leaf hash, so an auditor who scans the paper fetches a receipt that
`clubfund audit check-receipt` verifies, and checks that it is the very record printed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Final

import segno
from num2words import num2words

from ledger.accounts import Side
from ledger.chart import VoucherKind
from service.areas import repository as areas
from service.clubs import repository as clubs
from service.clubs.schemas import ClubRead
from service.clubs.service import get_club
from service.context import RequestContext
from service.entries.schemas import EntryRead
from service.entries.service import get_entry
from service.errors import NotFound
from service.loans import repository as loans
from service.people.repository import get_person
from service.vouchers import repository

VOUCHER_NUMBER: Final = re.compile(r"P[TC]-\d{4}-\d{4,9}")
FORMS: Final = {VoucherKind.RECEIPT: "01-TT", VoucherKind.PAYMENT: "02-TT"}


@dataclass(frozen=True)
class Party:
    """Who paid the money in, or received it: a member of the club, or whoever the
    treasurer wrote as the counterparty (empty: written by hand on the paper)."""

    name: str
    address: str


@dataclass(frozen=True)
class PrintedVoucher:
    club: ClubRead
    commune: str
    kind: VoucherKind
    form: str
    number: str
    entry: EntryRead
    amount: int
    amount_in_words: str
    debit_codes: tuple[str, ...]
    credit_codes: tuple[str, ...]
    party: Party
    attached: str
    prepared_by: str
    reversed: bool
    receipt_url: str
    qr_svg: str

    @property
    def day(self) -> date:
        return self.entry.effective_date


def amount_in_words(amount: int) -> str:
    """'Bốn trăm sáu mươi sáu nghìn sáu trăm sáu mươi bảy đồng'"""
    words = str(num2words(amount, lang="vi"))
    return words[:1].upper() + words[1:] + " đồng"


def receipt_url(base_url: str, entry: EntryRead) -> str:
    """The entry's audit receipt, with the leaf hash of its record as printed."""
    url = f"{base_url.rstrip('/')}/v1/entries/{entry.id}/receipt"
    return f"{url}#leaf_hash={entry.audit.leaf_hash}" if entry.audit else url


def qr_svg(text: str) -> str:
    """The QR code as an inline SVG (one path, drawn by the service: no other host)."""
    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=4, border=4, dark="#000", light="#fff",
                               omitsize=True, title="QR")
    return re.sub(r"<svg ", '<svg role="img" aria-label="QR" ', svg, count=1)


async def party_of(ctx: RequestContext, club: ClubRead, commune: str,
                   entry: EntryRead) -> Party:
    metadata = entry.metadata
    member_id = metadata.get("member_id")
    if member_id is None and metadata.get("loan_id"):
        loan = await loans.get_loan(ctx.connection, uuid.UUID(str(metadata["loan_id"])))
        member_id = loan["member_id"] if loan else None
    if member_id is not None:
        member = await clubs.get_member(ctx.connection, uuid.UUID(str(member_id)))
        if member is not None and member["club_id"] == club.id:
            return Party(member["name"], f"Thành viên {club.name}, {commune}")
    return Party(str(metadata.get("counterparty") or ""), "")


async def prepared_by(ctx: RequestContext, actor: str) -> str:
    """The name of the person who recorded the entry (the actor `person:<id>`)."""
    kind, _, person_id = actor.partition(":")
    if kind != "person":
        return ""
    try:
        person = await get_person(ctx.connection, uuid.UUID(person_id))
    except ValueError:
        return ""
    return str(person["name"]) if person else ""


async def printed_voucher(
    ctx: RequestContext, club_id: uuid.UUID, number: str, base_url: str
) -> PrintedVoucher:
    """The voucher `number` (PT-2026-0001, PC-2026-0003) of the club's fund; another
    club's voucher, or one that does not exist, is not found."""
    club = await get_club(ctx, club_id)
    found = (await repository.find_voucher(ctx.connection, club.fund_id, number)
             if VOUCHER_NUMBER.fullmatch(number) else None)
    if found is None:
        raise NotFound("entry", number)
    entry = await get_entry(ctx, found["entry_id"])
    kind = VoucherKind(number[:2])
    codes: dict[str, str] = found["account_codes"] or {}
    area = await areas.get_area(ctx.connection, club.area_code)
    commune = str(area["name"]) if area else club.area_code
    amount = sum(p.amount for p in entry.postings if p.side is Side.DEBIT)
    url = receipt_url(base_url, entry)
    metadata = entry.metadata
    return PrintedVoucher(
        club=club, commune=commune, kind=kind, form=FORMS[kind], number=number, entry=entry,
        amount=amount, amount_in_words=amount_in_words(amount),
        debit_codes=tuple(codes.get(str(p.account_id), "") for p in entry.postings
                          if p.side is Side.DEBIT),
        credit_codes=tuple(codes.get(str(p.account_id), "") for p in entry.postings
                           if p.side is Side.CREDIT),
        party=await party_of(ctx, club, commune, entry),
        attached=str(metadata.get("decision_number") or ""),
        prepared_by=await prepared_by(ctx, entry.actor), reversed=found["reversed"],
        receipt_url=url, qr_svg=qr_svg(url),
    )
