"""Printed vouchers: the receipt voucher (phiếu thu, 01-TT) and payment voucher (phiếu
chi, 02-TT) of an entry, A5 on paper and readable on a phone, with the entry's audit
receipt as a QR code. Reached from the pages that record money in and out, the loan
page and the member's passbook."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.pages.rendering import Context, PageRoute, officer, render
from service.vouchers.service import printed_voucher

router = APIRouter(route_class=PageRoute, include_in_schema=False)

@router.get("/clubs/{club_id}/vouchers/{number}")
async def voucher_page(request: Request, ctx: Context, club_id: uuid.UUID,
                       number: str) -> Response:
    await officer(request, ctx, club_id)
    voucher = await printed_voucher(ctx, club_id, number, str(request.base_url))
    return render(request, "voucher.html", club=voucher.club, voucher=voucher)
