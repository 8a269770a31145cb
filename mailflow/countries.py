"""Where a registrant probably is: country and time zone, for any country.

Evidence, strongest first: a phone number in the signature (phonenumbers: its country, and for a
geographic number the zone of its area code), else the address's country-code domain (CLDR's
territories and their zones, through babel). Generic and vanity domains (.com, .org, .me, .io, ...)
say nothing. A country whose zones keep different clocks (the United States, Russia, Spain with the
Canaries, Ukraine with Crimea) has no zone unless the phone number names it: "local time unknown".
Pure: no clock, no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import get_global

from .addresses import domain_of

# Country-code domains that Google's geotargeting treats as generic, because they are sold as vanity
# names worldwide (Search Central, "Managing multi-regional and multilingual sites"). A writer at
# podgorica.me may be in Montenegro; one at someone.me or a .io start-up is anywhere.
GENERIC_COUNTRY_DOMAINS = frozenset({
    "ad", "as", "bz", "cc", "cd", "co", "dj", "fm", "io", "la", "me", "ms", "nu", "sc", "sr", "su", "tv", "tk", "ws",
})
# The one country-code domain that is not its country's ISO 3166 code.
_DOMAIN_COUNTRY = {"uk": "GB"}
LOCAL_TIME_UNKNOWN = "local time unknown"
_UNKNOWN_ZONE = "Etc/Unknown"   # phonenumbers' answer for a number it cannot place


@dataclass(frozen=True)
class Place:
    country: str          # ISO 3166-1 alpha-2, e.g. "GE"
    zone: str | None      # IANA zone; None when the country's zones differ and nothing says which
    evidence: str         # "phone number +995 32 227 7010", "domain .ge"

    @property
    def country_name(self) -> str:
        return country_name(self.country)


def locate(address: str, signature: str = "") -> Place | None:
    """The writer's country and zone from a phone number in `signature`, else the address's domain;
    None when neither says (a generic or vanity domain and no international number)."""
    domain_country = _domain_country(address)
    return _by_phone(signature, domain_country) or (
        Place(domain_country, one_zone(tuple(_zones(domain_country))), f"domain .{_tld(address)}")
        if domain_country else None)


def named_country(written: str) -> Place | None:
    """The country a person wrote (an imported list's column): its ISO code ("GE", "GEO", "UK"), its
    name in English or German ("Georgia", "Georgien"), any case, with or without accents, or a name
    lists still use ("Turkey", "Czech Republic", "Macedonia"); its zone as for a domain. None: no country."""
    text = written.strip()
    code = text.upper() if len(text) == 2 and _zones(text.upper()) else (
        _code_aliases().get(text.upper()) or _country_names().get(_name_key(text)))
    return Place(code, one_zone(tuple(_zones(code))), f"the country {text!r} as written") if code else None


# Names lists write that are not CLDR's current ones in English or German: CLDR's alternatives, which
# babel leaves out ("UK", "Turkey", "Czech Republic", "Burma"), names from before a renaming
# ("Macedonia", "Swaziland") and the parts or official names people use for the whole ("England",
# "Russian Federation").
_OTHER_NAMES = {
    "GB": ("Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland", "Großbritannien"),
    "US": ("United States of America", "America", "Vereinigte Staaten von Amerika", "Amerika"),
    "TR": ("Turkey",),
    "MK": ("Macedonia", "Republic of Macedonia", "Republic of North Macedonia", "Mazedonien"),
    "CZ": ("Czech Republic", "Tschechische Republik"),
    "RU": ("Russian Federation", "Russische Föderation"),
    "MD": ("Republic of Moldova", "Moldawien"),
    "BY": ("Weißrussland",),
    "NL": ("Holland",),
    "KR": ("Republic of Korea",),
    "CI": ("Ivory Coast", "Elfenbeinküste"),
    "SZ": ("Swaziland",),
    "MM": ("Burma", "Myanmar"),
    "TL": ("East Timor", "Osttimor"),
    "PS": ("Palestine", "Palästina"),
    "VA": ("Vatican", "Holy See"),
    "HK": ("Hong Kong",),
    "MO": ("Macao", "Macau"),
    "AE": ("UAE",),
    "VN": ("Viet Nam",),
    "SK": ("Slovak Republic", "Slowakische Republik"),
    "KG": ("Kyrgyz Republic",),
    "IE": ("Republic of Ireland", "Eire"),
    "BA": ("Bosnia",),
    "CD": ("DR Congo", "Democratic Republic of the Congo"),
    "CG": ("Republic of the Congo",),
}


@functools.lru_cache(maxsize=1)
def _code_aliases() -> dict[str, str]:
    """Other codes for one country, as CLDR lists them: ISO 3166's three letters ("GEO") and a few
    more ("UK"); not those of countries that split ("SU", "YU")."""
    return {alias: targets[0] for alias, targets in get_global("territory_aliases").items()
            if alias.isalpha() and len(targets) == 1 and _zones(targets[0])}


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names = {_name_key(str(name)): code for language in ("en", "de")
             for code, name in Locale(language).territories.items() if len(code) == 2 and _zones(code)}
    for code, others in _OTHER_NAMES.items():
        names.update({_name_key(name): code for name in others})
    return names


def _name_key(name: str) -> str:
    """The same key for the ways people write a name: CLDR's English names write "Bosnia & Herzegovina"
    (people write "and"), "St. Lucia" ("Saint Lucia"), "Côte d’Ivoire" and "Türkiye" ("Cote d'Ivoire",
    "Turkiye"), and a list may say "the Netherlands"."""
    key = unicodedata.normalize("NFKD", re.sub(r"\s*&\s*", " and ", name).casefold().replace("’", "'"))
    key = " ".join("".join(c for c in key if not unicodedata.combining(c)).split())
    return re.sub(r"^(?:saint|st\.?) ", "st ", key.removeprefix("the "))


def country_name(code: str, language: str = "en") -> str:
    """A country's name in `language` (CLDR): "GE" -> "Georgia" ("Georgien" in German); the code itself
    when CLDR has none."""
    return str(Locale(language).territories.get(code.upper(), code.upper()))


@functools.lru_cache(maxsize=512)
def one_zone(zones: tuple[str, ...]) -> str | None:
    """The first zone, when every zone keeps its clock (Germany's Busingen keeps Berlin's); None
    when they differ at any time of these years (standard and summer time, 2024-2030)."""
    zones = tuple(z for z in zones if z != _UNKNOWN_ZONE)
    if not zones:
        return None
    moments = [datetime(year, month, 15) for year in range(2024, 2031) for month in (1, 4, 7, 10)]
    first = [ZoneInfo(zones[0]).utcoffset(m) for m in moments]
    return zones[0] if all([ZoneInfo(z).utcoffset(m) for m in moments] == first for z in zones[1:]) else None


# Six digits with at most three other characters between each two: the shortest phone number written
# with its spacing ("030 1234", "+995 32 ..."); text without such a run holds no number worth reading.
_MAY_HOLD_A_NUMBER = re.compile(r"\d(?:\D{0,3}\d){5}")


def _by_phone(signature: str, region: str | None) -> Place | None:
    """The first valid number: international (+49 ...) anywhere, national (030 ...) only where the
    domain names the country to read it in."""
    if not _MAY_HOLD_A_NUMBER.search(signature):   # the matcher costs 0.2 ms even on text without digits
        return None
    import phonenumbers  # 16 ms to import: only for text that may hold a number, not at every start
    from phonenumbers import timezone as phone_zones

    for match in phonenumbers.PhoneNumberMatcher(signature, region, leniency=phonenumbers.Leniency.VALID):
        number = match.number
        country = phonenumbers.region_code_for_number(number)
        if country:
            zones = tuple(phone_zones.time_zones_for_number(number))
            return Place(country, one_zone(zones), f"phone number {match.raw_string}")
    return None


def _tld(address: str) -> str:
    return (domain_of(address) or "").rpartition(".")[2].lower()


def _domain_country(address: str) -> str | None:
    tld = _tld(address)
    if len(tld) != 2 or tld in GENERIC_COUNTRY_DOMAINS:
        return None
    code = _DOMAIN_COUNTRY.get(tld, tld.upper())
    return code if _zones(code) else None   # .eu names no country, and has no zones


def _zones(country: str) -> list[str]:
    """CLDR's zones of a country; for one it has none for but phone numbers have (Kosovo: +383), theirs."""
    zones = get_global("territory_zones").get(country)
    if zones:
        return list(zones)
    import phonenumbers
    from phonenumbers import timezone as phone_zones

    if country not in phonenumbers.SUPPORTED_REGIONS:
        return []
    example = phonenumbers.example_number(country)
    return [z for z in phone_zones.time_zones_for_number(example) if z != _UNKNOWN_ZONE] if example else []
