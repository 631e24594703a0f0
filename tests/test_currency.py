"""Amounts in a currency's minor unit, written out: the receipts, refund notices and checkout page."""

from __future__ import annotations

import pytest

from microcred import currency, notification_texts
from microcred.contracts import NotificationKind


@pytest.mark.parametrize(
    ("amount", "code", "written"),
    [
        (9900, "usd", "99.00 USD"),
        (2900, "eur", "29.00 EUR"),
        (500, "jpy", "500 JPY"),  # the yen has no minor unit
        (1_234_567, "gbp", "12,345.67 GBP"),
        (1500, "krw", "1,500 KRW"),
        (1234, "kwd", "1.234 KWD"),  # three digits
    ],
)
def test_amounts_are_written_with_their_currencys_digits(amount: int, code: str, written: str) -> None:
    assert currency.readable(amount, code) == written


def test_a_refund_notice_in_yen() -> None:
    _, body = notification_texts.render(
        NotificationKind.PAYMENT_REFUNDED,
        {"amount": 500, "currency": "jpy", "credential_title": "Inquiry", "reason": "duplicate"},
    )
    assert "We refunded 500 JPY for Inquiry" in body


def test_only_iso_4217_codes_are_known() -> None:
    assert currency.is_known("usd") and currency.is_known("JPY")
    assert not currency.is_known("zzz")
