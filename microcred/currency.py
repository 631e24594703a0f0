"""Currencies: ISO 4217 codes, and amounts in a currency's minor unit (as the catalog and Stripe
keep them: cents for USD, yen for JPY) written out for people. Babel's CLDR data knows how many
digits each currency's minor unit has."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision, is_currency


def is_known(currency: str) -> bool:
    """Whether ``currency`` (any case) is an ISO 4217 code."""
    return is_currency(currency.upper())


def readable(amount: int, currency: str) -> str:
    """``9900, "usd"`` → ``99.00 USD``; ``500, "jpy"`` → ``500 JPY``."""
    code = currency.upper()
    digits = get_currency_precision(code)
    return f"{Decimal(amount).scaleb(-digits):,.{digits}f} {code}"
