"""Where a registrant works and is: organisation from the signature (else a non-webmail domain),
country and time zone from a phone number or the country-code domain, for any country."""

from datetime import UTC, datetime

import pytest

from mailflow.countries import GENERIC_COUNTRY_DOMAINS, locate, named_country
from mailflow.organisations import organisation_in, organisation_of
from mailflow.registrants import whereabouts
from mailflow.rules import load_rules
from mailflow.text import read
from tests.support import REPO
from tests.support.clock import SettableClock
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker

# -- organisation ------------------------------------------------------------------------------------

SIGNATURES = [
    ("Best regards,\nGiorgi Kapanadze\nChief Specialist, E-Governance Unit\nTbilisi City Hall\nTbilisi, Georgia\n"
     "Tel: +995 32 227 7010", "Tbilisi City Hall"),
    ("პატივისცემით,\nთამარ გელაშვილი\nრუსთავის მუნიციპალიტეტის მერია\nტელ: +995 341 27 00 12",
     "რუსთავის მუნიციპალიტეტის მერია"),
    ("Հարգանքով՝\nԱրմեն Սարգսյան\nԳյումրու քաղաքապետարան, Հայաստան\nՀեռ.՝ +374 312 5 20 41", "Գյումրու քաղաքապետարան"),
    ("С уважением,\nЭльчин Мамедов\nИсполнительная власть города Баку\nБаку, Азербайджан",
     "Исполнительная власть города Баку"),
    ("Срдачан поздрав,\nМилица Јовановић\nГрад Београд – Секретаријат за информатику\nБеоград, Србија", "Град Београд"),
    ("Me respekt,\nElira Shehu\nSpecialiste, Drejtoria e Shërbimeve Elektronike\n"
     "Bashkia Tiranë | Municipality of Tirana", "Bashkia Tiranë"),
    ("Cu stimă,\nAndreea Popescu\nPrimăria Municipiului Timișoara, România\nTel: +40 256 408 317",
     "Primăria Municipiului Timișoara"),
    ("Mit freundlichen Grüßen\n\nMichael Schneider\n\nStadt Köln – Amt für Informationsverarbeitung\n\n"
     "Willy-Brandt-Platz 2, 50679 Köln", "Stadt Köln"),
    ("Viele Grüße\nJulia Bauer\nLandeshauptstadt München, IT-Referat\nAgnes-Pockels-Bogen 21, 80992 München",
     "Landeshauptstadt München"),
    # A title that mentions a word of the kind is no organisation; the next line is.
    ("Srdačan pozdrav / Best regards,\nĐorđe Stanković\nHead of the e-Government Service\nGrad Kragujevac, Srbija",
     "Grad Kragujevac"),
    # Cells of an HTML signature table, as text.
    ("Best regards,\n  Arben Kola  Bashkia Tiranë  Drejtoria e Shërbimeve për Qytetarët", "Bashkia Tiranë"),
]


@pytest.mark.parametrize(("signature", "expected"), SIGNATURES)
def test_the_organisation_is_read_from_the_signature_in_several_languages(signature, expected):
    assert organisation_in(signature) == expected


def test_a_job_title_street_or_phone_is_no_organisation():
    assert organisation_in("Viele Grüße\nKatrin Vogel\nStadtplanerin, Hannover") is None   # "Stadt..." a title
    assert organisation_in("Regards,\nJack Miller\nBusiness Development Manager") is None
    assert organisation_in("Best,\nAnna\nRathausplatz 1, 10115 Berlin\n+49 30 1234 567") is None


def test_without_a_signature_the_domain_stands_for_the_organisation_unless_it_is_a_mail_providers():
    assert organisation_of("n.beridze@tbilisi.gov.ge") == "tbilisi.gov.ge"
    for webmail in ("a@gmail.com", "a@gmx.de", "a@web.de", "a@mail.ru", "a@yahoo.de", "a@outlook.com", "a@abv.bg"):
        assert organisation_of(webmail) is None, webmail
    # The signature wins, also over a mail provider's domain.
    assert organisation_of("uwe.kraemer@gmx.de", "Grüße\nUwe Krämer\nStadtverwaltung Bielefeld, Amt für Statistik") \
        == "Stadtverwaltung Bielefeld"


# -- country and time zone --------------------------------------------------------------------------


def place(address, signature=""):
    found = locate(address, signature)
    return found and (found.country, found.country_name, found.zone)


def test_any_country_domain_gives_its_country_and_zone():
    assert place("a.nowak@um.warszawa.pl") == ("PL", "Poland", "Europe/Warsaw")
    assert place("m.rossi@comune.bologna.it") == ("IT", "Italy", "Europe/Rome")
    assert place("j.smith@london.gov.uk") == ("GB", "United Kingdom", "Europe/London")
    assert place("a@tbilisi.gov.ge") == ("GE", "Georgia", "Asia/Tbilisi")
    # Germany's second zone (Busingen) keeps Berlin's clock: one local time.
    assert place("a@leipzig.de") == ("DE", "Germany", "Europe/Berlin")


def test_generic_and_vanity_domains_give_no_country_without_other_evidence():
    assert "me" in GENERIC_COUNTRY_DOMAINS
    for address in ("a@podgorica.me", "a@example.com", "a@ngo.org", "a@isp.net", "a@startup.io", "a@nalas.eu",
                    "a@gmail.com"):
        assert locate(address) is None, address
    # .me with a Montenegrin phone number: Montenegro, from the phone.
    found = locate("vuk.radulovic@podgorica.me", "Best regards,\nVuk Radulović\n+382 20 665 301")
    assert (found.country, found.zone, found.evidence) == ("ME", "Europe/Podgorica", "phone number +382 20 665 301")


def test_a_phone_number_in_the_signature_places_a_com_address():
    assert place("expert@consulting.com", "Best regards,\nAnna Nowak\nTel. +48 22 123 45 67") == (
        "PL", "Poland", "Europe/Warsaw")
    # A national number is read in the country of the domain.
    assert place("a@landkreis-osnabrueck.de", "Tel. 0541 501-4117") == ("DE", "Germany", "Europe/Berlin")


def test_a_country_with_several_zones_needs_the_phone_numbers_area_code():
    # The area code says New York or California.
    assert place("j.doe@city.com", "Jane Doe\nTel. +1 212 555 0100") == ("US", "United States", "America/New_York")
    assert place("j.doe@city.com", "Jane Doe\n+1 (650) 253-0000") == ("US", "United States", "America/Los_Angeles")
    # A toll-free number has no area code: the country, but which of its zones is unknown.
    assert place("j.doe@city.com", "Jane Doe\nPhone +1 800 555 1234") == ("US", "United States", None)
    # A number without its area code is no valid number: nothing to go on.
    assert place("j.doe@city.com", "Jane Doe\nPhone +1 555 0100") is None
    # The domain alone names a country of several zones.
    assert place("j.doe@city.us") == ("US", "United States", None)
    assert place("a@city.us", "Tel. +1 212 555 0100")[2] == "America/New_York"


# -- recorded with the registration -----------------------------------------------------------------


def test_the_registration_records_organisation_country_and_zone_from_the_mail(tmp_path, maildirs):
    rules = load_rules(REPO / "rules.yaml")
    arrived = datetime(2020, 9, 20, tzinfo=UTC)
    worker = maildir_worker(rules, maildirs, tmp_path / "t.db", clock=SettableClock(arrived))
    deliver(maildirs, make_mail(
        sender="Anna Nowak <anna.nowak.expert@gmail.com>",
        body="Dear colleagues,\n\nI would like to participate in the online event.\n\nBest regards,\nAnna Nowak\n"
             "Urząd Miasta Stołecznego Warszawy, Biuro Cyfryzacji\nTel. +48 22 443 14 00"), arrived=arrived)
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"), arrived=arrived)
    worker.run_once()
    rows = {r["address"]: r for r in worker.db["registrants"].rows}
    anna = rows["anna.nowak.expert@gmail.com"]
    assert (anna["organisation"], anna["country"], anna["time_zone"]) == (
        "Urząd Miasta Stołecznego Warszawy", "PL", "Europe/Warsaw")
    nino = rows["nino@tbilisi.gov.ge"]   # signed "Nino" only: the address says it
    assert (nino["organisation"], nino["country"], nino["time_zone"]) == ("tbilisi.gov.ge", "GE", "Asia/Tbilisi")


def test_whereabouts_without_a_mail_come_from_the_address():
    assert whereabouts("someone@gmail.com") == {"organisation": None, "country": None, "time_zone": None}
    assert whereabouts("someone@city.us") == {"organisation": "city.us", "country": "US", "time_zone": None}
    written = read("Hello\n\nBest regards,\nJane\nCity of Chicago\n+1 312 744 5000")
    assert whereabouts("someone@gmail.com", written) == {
        "organisation": "City of Chicago", "country": "US", "time_zone": "America/Chicago"}


def test_only_the_start_of_a_long_signature_is_read():
    """A hostile mail's megabyte "signature" would cost the phone matcher seconds: the first 2,000
    characters are read, where a real signature's organisation and phone number are."""
    filler = "\n".join(["Drejtoria e Shërbimeve"] * 200)
    early = read(f"Hi\n\nBest regards,\nJane\nCity of Chicago\n+1 312 744 5000\n{filler}")
    assert whereabouts("someone@gmail.com", early)["time_zone"] == "America/Chicago"
    late = read(f"Hi\n\nBest regards,\nJane\n{filler}\nCity of Chicago\n+1 312 744 5000")
    assert whereabouts("someone@gmail.com", late) == {"organisation": None, "country": None, "time_zone": None}


@pytest.mark.parametrize("written, country, zone", [
    ("Georgia", "GE", "Asia/Tbilisi"), ("Georgien", "GE", "Asia/Tbilisi"), ("ge", "GE", "Asia/Tbilisi"),
    (" DEUTSCHLAND ", "DE", "Europe/Berlin"), ("United States", "US", None), ("Atlantis", None, None),
    ("EU", None, None),
    # The event's own region: CLDR writes "Bosnia & Herzegovina", and has no zone for Kosovo (phone numbers do).
    ("Bosnia and Herzegovina", "BA", "Europe/Sarajevo"), ("Bosnia & Herzegovina", "BA", "Europe/Sarajevo"),
    ("Kosovo", "XK", "Europe/Belgrade"), ("XK", "XK", "Europe/Belgrade"),
    ("Trinidad and Tobago", "TT", "America/Port_of_Spain"),
    # Three-letter codes and CLDR's other codes; not those of a country that split into several.
    ("GEO", "GE", "Asia/Tbilisi"), ("deu", "DE", "Europe/Berlin"), ("UK", "GB", "Europe/London"), ("USA", "US", None),
    ("SU", None, None), ("YU", None, None),
    # Names lists write that are not CLDR's current ones, and names written without their accents or article.
    ("Turkey", "TR", "Europe/Istanbul"), ("Turkiye", "TR", "Europe/Istanbul"), ("Türkei", "TR", "Europe/Istanbul"),
    ("Macedonia", "MK", "Europe/Skopje"), ("Mazedonien", "MK", "Europe/Skopje"),
    ("Czech Republic", "CZ", "Europe/Prague"),
    ("Great Britain", "GB", "Europe/London"), ("England", "GB", "Europe/London"),
    ("the United Kingdom", "GB", "Europe/London"),
    ("The Netherlands", "NL", "Europe/Amsterdam"), ("Russian Federation", "RU", None),
    ("Weißrussland", "BY", "Europe/Minsk"),
    ("Cote d'Ivoire", "CI", "Africa/Abidjan"), ("Osterreich", "AT", "Europe/Vienna"), ("Thessaloniki", None, None),
    ("Hong Kong", "HK", "Asia/Hong_Kong"), ("UAE", "AE", "Asia/Dubai"), ("Viet Nam", "VN", "Asia/Ho_Chi_Minh"),
    ("Saint Lucia", "LC", "America/St_Lucia"), ("St Lucia", "LC", "America/St_Lucia"),
    ("St. Lucia", "LC", "America/St_Lucia"), ("Slovak Republic", "SK", "Europe/Bratislava"),
])
def test_a_country_as_an_imported_list_writes_it(written, country, zone):
    place = named_country(written)
    assert (place.country, place.zone) == (country, zone) if country else place is None
