"""Where a registrant probably is: country and time zone from the address's country domain."""

from __future__ import annotations

# Country-code domain -> (country, IANA time zone), for the event's region and Germany.
BY_TLD: dict[str, tuple[str, str]] = {
    "de": ("Germany", "Europe/Berlin"),
    "ge": ("Georgia", "Asia/Tbilisi"),
    "am": ("Armenia", "Asia/Yerevan"),
    "az": ("Azerbaijan", "Asia/Baku"),
    "al": ("Albania", "Europe/Tirane"),
    "rs": ("Serbia", "Europe/Belgrade"),
    "ba": ("Bosnia and Herzegovina", "Europe/Sarajevo"),
    "me": ("Montenegro", "Europe/Podgorica"),
    "mk": ("North Macedonia", "Europe/Skopje"),
    "xk": ("Kosovo", "Europe/Belgrade"),
    "md": ("Moldova", "Europe/Chisinau"),
    "ua": ("Ukraine", "Europe/Kyiv"),
    "ro": ("Romania", "Europe/Bucharest"),
    "bg": ("Bulgaria", "Europe/Sofia"),
    "hr": ("Croatia", "Europe/Zagreb"),
    "si": ("Slovenia", "Europe/Ljubljana"),
    "gr": ("Greece", "Europe/Athens"),
    "tr": ("Türkiye", "Europe/Istanbul"),
    "at": ("Austria", "Europe/Vienna"),
    "ch": ("Switzerland", "Europe/Zurich"),
}

# International phone prefixes found in signatures, longest first when matching.
BY_PHONE_PREFIX: dict[str, str] = {
    "49": "de", "995": "ge", "374": "am", "994": "az", "355": "al", "381": "rs", "387": "ba",
    "382": "me", "389": "mk", "383": "xk", "373": "md", "380": "ua", "40": "ro", "359": "bg",
    "385": "hr", "386": "si", "30": "gr", "90": "tr", "43": "at", "41": "ch",
}


def country_of(address: str, signature: str = "") -> tuple[str, str] | None:
    """(country, time zone) from the domain, else from a phone prefix in the signature; None if unknown."""
    tld = address.rpartition(".")[2].lower()
    if tld in BY_TLD:
        return BY_TLD[tld]
    import re

    for prefix in sorted(BY_PHONE_PREFIX, key=len, reverse=True):
        if re.search(rf"(?<![\w+])(?:\+|00){prefix}[\s(/.-]*\d", signature):
            return BY_TLD[BY_PHONE_PREFIX[prefix]]
    return None
