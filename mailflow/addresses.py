"""Mail addresses: one normal form so one person is one registrant."""

from __future__ import annotations

import email_validator


class InvalidAddress(ValueError):
    pass


def normalize_address(address: str) -> str:
    """Lower-cased, syntax-checked address (no DNS look-up, so it works offline)."""
    try:
        result = email_validator.validate_email(
            address.strip(), check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(f"{address!r} is not a valid mail address: {exc}") from None
    return result.normalized.lower()


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def local_part(address: str) -> str:
    return address.rpartition("@")[0].lower()
