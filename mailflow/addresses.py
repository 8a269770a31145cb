"""Mail addresses: one normal form so one person is one registrant."""

from __future__ import annotations

import re


class InvalidAddress(ValueError):
    pass


def normalize_address(address: str) -> str:
    """Lower-cased, syntax-checked address (no DNS look-up, so it works offline)."""
    address = address.strip()
    if _plainly_valid(address):
        return address.lower()
    import email_validator  # here: importing it compiles large Unicode patterns (30-40 ms)

    try:
        result = email_validator.validate_email(
            address, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(f"{address!r} is not a valid mail address: {exc}") from None
    return result.normalized.lower()


def ascii_domain(domain: str) -> str:
    """A domain as SMTP and headers carry it: an international one in its IDNA 2008 form ("straße.de" is
    "xn--strae-oqa.de"; Python's own codec, IDNA 2003, wrote "strasse.de", another domain). UnicodeError
    when it has none."""
    if domain.isascii():
        return domain
    import idna  # (email-validator's own dependency, which it uses the same way)

    return idna.encode(domain, uts46=True).decode("ascii")


def unicode_domain(domain: str) -> str:
    """An IDNA domain as a person reads it ("xn--mnchen-3ya.de" is "münchen.de"); the domain itself when it
    has no such label or is not valid IDNA."""
    if "xn--" not in domain.lower():
        return domain
    import idna

    try:
        return str(idna.decode(domain))
    except idna.IDNAError:
        return domain


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def local_part(address: str) -> str:
    return address.rpartition("@")[0].lower()


# The plainest addresses (ASCII letters and digits, single separators, no IDNA label, a letter
# TLD) need no validator: most mail comes from such addresses, and email-validator costs about
# 0.1 ms each. Its list of special-use domains is its own; a hypothesis property checks that the
# shortcut never accepts what email-validator refuses and answers the same otherwise.
_PLAIN = re.compile(r"[a-z0-9]+(?:[._+-][a-z0-9]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}", re.ASCII)
# email-validator's SPECIAL_USE_DOMAIN_NAMES without "test" (allowed by test_environment=True),
# copied so that the shortcut needs no import of email-validator; a test keeps the two equal.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion")


def _plainly_valid(address: str) -> bool:
    lowered = address.lower()
    if len(address) > 254 or not _PLAIN.fullmatch(lowered):
        return False
    local, domain = lowered.split("@")
    return (len(local) <= 64 and all(len(label) <= 63 for label in domain.split("."))
            and not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE))
