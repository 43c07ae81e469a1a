"""Printing a voucher in the browser and checking the audit receipt its QR code carries:
shared by the vouchers' test and the treasurer's end-to-end flow."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import httpx

from ledger.receipts import ReceiptCheck, check_receipt
from ledger.signed_notes import parse_verifier_key
from ledger.tree_heads import parse_audit_keys
from tests.pages.conftest import BrowserSession


def decoded_qr(phone: BrowserSession) -> str:
    """The text of the QR code on the page, read from the picture Chromium draws."""
    import zxingcpp
    from PIL import Image

    picture = phone.page.locator(".voucher-qr svg").screenshot()
    # Only QR codes are looked for: the decoder may otherwise read a run of the QR
    # code's modules as a one-dimensional barcode beside it.
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture)),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode, found
    return str(found[0].text)


def verified_receipt(base: str, token: str, address: str) -> ReceiptCheck:
    """Fetch the receipt at `address` (with `token`) and verify it offline with the
    published keys; the leaf hash printed in the address must be the record's."""
    url, _, fragment = address.partition("#")
    assert url.startswith(base + "/v1/entries/") and url.endswith("/receipt"), address
    response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    keys = httpx.get(base + "/.well-known/clubfund/audit-keys").json()
    checked = check_receipt(response.json(), parse_audit_keys(keys),
                            [parse_verifier_key(k["verifier_key"]) for k in keys["keys"]])
    assert fragment == f"leaf_hash={checked.leaf_hash}", (fragment, checked)
    return checked


def print_receipt_voucher(phone: BrowserSession, token: str,
                          name: str = "voucher-receipt") -> ReceiptCheck:
    """On a page that just saved money in (it shows "In phiếu thu PT-…"): open the phiếu
    thu, check its layout, decode its QR and verify the receipt it points to (fetched with
    `token`, e.g. an auditor's or the admin's). Returns what the receipt proves."""
    page = phone.page
    link = page.get_by_role("link", name="In phiếu thu").first
    number = link.inner_text().split()[-1]
    phone.sizes.clear()
    link.click()
    page.wait_for_load_state("load")
    phone.check(name)
    voucher = page.locator(".voucher").inner_text()
    for words in ("PHIẾU THU", "Mẫu số 01-TT", number,
                  "Viết bằng chữ", "đồng", "Người nộp tiền", "Người lập phiếu",
                  "Chủ nhiệm CLB", "Kế toán / Thủ quỹ"):
        assert words in voucher, (words, voucher)
    base = f"{urlsplit(page.url).scheme}://{urlsplit(page.url).netloc}"
    return verified_receipt(base, token, decoded_qr(phone))
