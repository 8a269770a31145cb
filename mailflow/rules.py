"""rules.yaml: the coordinators' file, loaded into typed settings.

Every problem a coordinator can cause is reported as a `RulesError` naming the
file, the line and what to change, because coordinators are not programmers.
"""

from __future__ import annotations

import difflib
import grp
import re
import types
import typing
import urllib.parse
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from .errors import RulesError, RulesProblem, not_utf8
from .states import ANSWERABLE_INTENTS, AUTOMATIC_INTENTS, Intent, RegistrantStatus

# Reply kinds besides the intents: a registration that also asks gets its own template when one is set;
# replies.registration_closed answers a registration after the window.
INTEREST_WITH_QUESTION = "interest_question"
REGISTRATION_CLOSED = "registration_closed"
REPLY_KINDS = (*ANSWERABLE_INTENTS, INTEREST_WITH_QUESTION, REGISTRATION_CLOSED)
# The languages mailflow writes to coordinators in (ISO 639-1): a mailbox's `language`.
LANGUAGES = ("en", "de")
# Registration on behalf of others: each nominee's confirmation, and the sender's summary.
OnBehalfKind = Literal["confirmation", "summary"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Strict):
    host: str
    port: int = Field(gt=0, lt=65536)
    security: Literal["tls", "starttls", "none"]
    username: str | None = None
    password_env: str | None = None
    password_command: str | None = None
    oauth2_token_command: str | None = Field(default=None, description="prints an OAuth2 access token (XOAUTH2)")
    ca_file: Path | None = Field(
        default=None, description="extra CA certificate to trust (self-signed servers)"
    )
    timeout: float = Field(default=30.0, gt=0, description="seconds for each read from the server")
    deadline: float = Field(default=60.0, gt=0, description="seconds for each whole operation (connect, one "
                            "command, one mail sent), plus a second per 25 kB it moves")

    @model_validator(mode="after")
    def _one_secret_source(self) -> ServerSettings:
        given = [k for k in ("password_env", "password_command", "oauth2_token_command") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError("give one of password_env, password_command or oauth2_token_command, "
                             f"not {' and '.join(given)}")
        return self


class ImapSettings(ServerSettings):
    folder: str = "INBOX"
    idle: bool = Field(default=True, description="wait for new mail with IMAP IDLE where the server offers it")
    idle_renew_seconds: int = Field(default=600, gt=0, le=1740, description="re-issue IDLE this often")


class SmtpSettings(ServerSettings):
    pass


class ProcessedMarker(_Strict):
    """How a handled mail is marked on the server; it is never deleted."""

    flag: str = "$MailflowProcessed"
    move_to: str | None = None

    @field_validator("flag")
    @classmethod
    def _atom(cls, value: str) -> str:
        if not value or any(c in value for c in ' ()[]{}%*"\\\r\n'):
            raise ValueError("a flag is one word without spaces, brackets or quotes, e.g. $MailflowProcessed")
        return value


def _date_or_time(value: Any) -> Any:
    """A date (`2024-09-01`) or a date and time (`2024-09-01T08:00`) as YAML gives it or as text; one
    message for both when it is neither (pydantic's union would report each member)."""
    if isinstance(value, (date, datetime)) or value is None:
        return value
    text = str(value).strip()
    try:
        if isinstance(value, str):   # a number would be read as seconds since 1970 (pydantic) or as 20241009
            return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError("not a date; write a date like 2024-09-01 or a date and time like 2024-09-01T08:00 "
                     "(local time)")


def _local_time(value: Any) -> Any:
    """An event's start or end: a date and a time of day, local to the event's `timezone`. A date alone
    (pydantic would make it 00:00) and a UTC offset (it would be compared with the other, local, one)
    are refused with the fix."""
    if not isinstance(value, (str, date)):   # a number would be read as seconds since 1970, in UTC
        raise ValueError("not a date and time; write the local time like 2020-10-07T13:00")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip()) if ("T" in value or " " in value.strip()) \
                else date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not a date and time; write the local time like 2020-10-07T13:00") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"has a UTC offset ({value:%z}); write the local time without it, like "
                             f"{value.replace(tzinfo=None):%Y-%m-%dT%H:%M}, and the zone under `timezone:` "
                             "(e.g. Europe/Berlin)")
        return value
    raise ValueError(f"has no time of day (it would be {value.isoformat()} 00:00); write the local time "
                     f"like {value.isoformat()}T13:00")


# A moment of the event itself: a local date and time in the event's zone (see _local_time).
LocalTime = Annotated[datetime, BeforeValidator(_local_time)]


class AlarmSettings(_Strict):
    """`alarm:` (top level, or per mailbox over it): when a mailbox cannot be read or sent from for
    `after`, one mail to `to` (default: the other coordinator), and one when it works again."""

    after: str | None = Field(default=None, description="how long an outage lasts before the alarm, e.g. 1h, "
                              "30m (default 1h)")
    to: str | None = Field(default=None, description="who gets it (default: the other mailbox's coordinator)")

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        from .addresses import normalize_address

        return None if value is None else normalize_address(value)


# A date or a date and time, local: `answer_mail_since` (a date alone is 00:00 of that day, in the first
# event's zone) and `registration.opens`/`closes` (a date alone: the start / the end of that day, in the event's).
DateOrTime = Annotated[datetime | date | None, BeforeValidator(_date_or_time)]


def _time_of_day(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 8:00 as the base-60 number 480: that is 08:00. A bare hour (8), the
    German 18.00 (a decimal number) and 1800 are refused with the way to write them: they became 00:08,
    00:00:18 and an error without a hint."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) or isinstance(value, int) and value < 24 or isinstance(value, str) and \
            value.strip().isdigit():
        raise ValueError(f"{value!r} is no time of day here; write hours and minutes with a colon, like 08:00 or "
                         "18:30")
    if isinstance(value, int) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]


def _a_file_name(value: Any) -> Any:
    """`database: ""` became the rules file's folder itself: "cannot open the database" at every start."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("the database needs a file name, like mailflow.db (relative to rules.yaml's folder)")
    return value


class DigestSettings(_Strict):
    """The daily digest to a mailbox's coordinator (digest.py): at `time` in `timezone`, when there is
    something to say."""

    time: TimeOfDay = Field(default=time(8, 0), description="local time of day, e.g. 08:00")
    timezone: str | None = Field(default=None, description="default: the first event's time zone")
    enabled: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            _known_zone(value)
        return value


def _known_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        # Only places: an abbreviation (CEST) is closest to another zone's (EST), hours away from it.
        places = {zone.rpartition("/")[2]: zone for zone in sorted(available_timezones()) if "/" in zone
                  and not zone.startswith("Etc/")}
        close = difflib.get_close_matches(value.rpartition("/")[2], places, n=1, cutoff=0.6)
        raise ValueError(f"unknown time zone {value!r}" + (f"; did you mean {places[close[0]]!r}?" if close else
                                                           "; use a name like Europe/Berlin")) from None


class Mailbox(_Strict):
    address: str
    coordinator: str
    audience: str | None = Field(default=None, description="defaults to the mailbox name")
    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None
    processed: ProcessedMarker = ProcessedMarker()
    sent_copy: Literal["append", "provider", "none"] = Field(
        default="append",
        description="append: mailflow saves each sent mail to the Sent folder; provider: the SMTP "
        "server does that itself (Gmail, Exchange Online); none: no copy",
    )
    sent_folder: str | None = Field(default=None, description="default: the folder marked \\Sent")
    answer_mail_since: DateOrTime = Field(default=None, description="overrides the top-level answer_mail_since")
    language: str = Field(default="en", description="ISO 639-1: what mailflow writes to this coordinator in")
    digest: DigestSettings = DigestSettings()
    alarm: AlarmSettings | None = Field(default=None, description="overrides the top-level alarm's keys")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        from .addresses import normalize_address

        return normalize_address(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"mailflow writes to coordinators in {' or '.join(LANGUAGES)} (ISO 639-1 codes: "
                             f"{', '.join(LANGUAGES)}); {value!r} is not one of them")
        return value


class AgendaRelease(_Strict):
    """The agenda, released from rules.yaml: `released: true` plus a text and/or a file."""

    released: bool = False
    text: Path | None = Field(default=None, description="a text or Markdown file, sent inline")
    file: Path | None = Field(default=None, description="a file (e.g. PDF) sent as attachment")
    send_at: LocalTime | None = Field(default=None, description="release at this local time instead of now")

    @model_validator(mode="after")
    def _content(self) -> AgendaRelease:
        if (self.released or self.send_at) and not (self.text or self.file):
            raise ValueError("a released agenda needs `text:` (a text file) or `file:` (an attachment)")
        return self


def meeting_link(link: str) -> str:
    """An access link as every registrant's mail client shows it as a link: a whole https:// address, one word
    ("zoom.us/j/123" or "htps://..." went to everyone and opened nothing). An http:// one is taken: a rules.yaml
    that named one before kept its daemon from starting."""
    link = link.strip()
    parts = urllib.parse.urlsplit(link)
    if parts.scheme.lower() not in ("https", "http") or "." not in parts.netloc or any(c.isspace() for c in link):
        raise ValueError(f"the access link must be a whole https:// address, like https://meet.example.org/room, "
                         f"not {link!r}")
    return link


class AccessRelease(_Strict):
    """The access link and details, released from rules.yaml."""

    released: bool = False
    link: str | None = None
    details: Path | None = Field(default=None, description="a text file with dial-in details")
    send_at: LocalTime | None = Field(default=None, description="release at this local time instead of now")
    require_approval: bool = Field(default=False, description="only registrants a coordinator approved get the link")

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return None if value is None else meeting_link(value)

    @model_validator(mode="after")
    def _content(self) -> AccessRelease:
        if (self.released or self.send_at) and not self.link:
            raise ValueError("released access details need `link:`")
        return self


class Reminder(_Strict):
    before: str = Field(description="how long before the start, e.g. 1d, 1h, 30m")

    @field_validator("before")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def delta(self) -> timedelta:
        return parse_duration(self.before)


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*(d|h|m)\s*", str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration; write a number and d, h or m, e.g. 1d or 2h")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


class EventReleases(_Strict):
    agenda: AgendaRelease = AgendaRelease()
    access: AccessRelease = AccessRelease()


class RegistrationWindow(_Strict):
    """When mails may register for the event, in the event's zone: a date alone opens at the start
    of that day and closes at its end. Without `closes`, registration closes when the event ends."""

    opens: DateOrTime = None
    closes: DateOrTime = None

    @model_validator(mode="after")
    def _order(self) -> RegistrationWindow:
        def naive(value: datetime | date, end_of_day: bool) -> datetime:
            if isinstance(value, datetime):
                return value.replace(tzinfo=None)
            return datetime.combine(value + timedelta(days=1) if end_of_day else value, time())
        if self.opens is not None and self.closes is not None and \
                naive(self.opens, False) >= naive(self.closes, True):
            raise ValueError("registration.closes must come after registration.opens")
        return self


class Event(_Strict):
    id: str
    title: str
    start: LocalTime
    end: LocalTime
    timezone: str
    venue: str = "Online"
    language: str = "English"
    keywords: list[str] = []
    releases: EventReleases = EventReleases()
    reminders: list[Reminder] = []
    registration: RegistrationWindow = RegistrationWindow()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        _known_zone(value)
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")   # absent when the start itself is wrong (reported on its own)
        if start is not None and end <= start:
            raise ValueError(f"the event ends ({end:%Y-%m-%d %H:%M}) before or when it starts "
                             f"({start:%Y-%m-%d %H:%M}); write an end after the start")
        return end

    def zoned(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(self.timezone))

    @property
    def starts_at(self) -> datetime:
        return self.zoned(self.start)

    @property
    def ends_at(self) -> datetime:
        return self.zoned(self.end)

    def _moment(self, value: datetime | date, end_of_day: bool) -> datetime:
        if isinstance(value, datetime):
            return self.zoned(value)
        day = value + timedelta(days=1) if end_of_day else value
        return self.zoned(datetime.combine(day, time()))

    @property
    def registration_opens_at(self) -> datetime | None:
        opens = self.registration.opens
        return None if opens is None else self._moment(opens, end_of_day=False)

    @property
    def registration_closes_at(self) -> datetime:
        """The first moment registration is closed (a date alone: midnight after that day)."""
        closes = self.registration.closes
        return self.ends_at if closes is None else self._moment(closes, end_of_day=True)

    def registration_open(self, moment: datetime) -> bool:
        opens = self.registration_opens_at
        return (opens is None or opens <= moment) and moment < self.registration_closes_at

    def registration_closed(self, moment: datetime) -> bool:
        return moment >= self.registration_closes_at

    def over(self, moment: datetime) -> bool:
        return moment >= self.ends_at

    @property
    def new_registrant_status(self) -> RegistrantStatus:
        """Pending while access needs a coordinator's approval, else registered."""
        return RegistrantStatus.PENDING if self.releases.access.require_approval else RegistrantStatus.REGISTERED


class AudienceEvidence(_Strict):
    """What makes a mail belong to an audience, whatever inbox it reached."""

    domains: list[str] = []
    tlds: list[str] = []
    phrases: list[WordPattern] = []
    languages: list[str] = Field(default=[], description="ISO 639-1 codes of the mail's own text")
    phone_prefixes: list[str] = []
    signature_words: list[WordPattern] = Field(default=[], description="country or city names in the signature")

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:   # "German" matched no detected language, and the evidence was silently lost
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise ValueError(f"{code!r} is no language code; write the ISO 639-1 code, like de, en or ka")
        return value


# A "*" glued to a word ("regist*", "*register") or a regular expression's choice or class ("regist(er|ration)"):
# a coordinator's habit from other tools, taken as letters, so the pattern never matched anything
_GLOB_STAR = re.compile(r"\S\*|\*\S")
_REGEX_SIGNS = re.compile(r"[|\\]|\[.*\]")


def _word_pattern(pattern: str) -> str:
    """A pattern names something: "..." (a stem of nothing) matched every mail; "5.1.1" is fine. It is words:
    "*" only between them, no regular expression."""
    if not pattern.replace("...", "").replace("*", "").strip():
        raise ValueError(f"the pattern {pattern!r} names nothing, so it would match every mail; write the "
                         "words it stands for (\"...\" after a word makes it a stem: participat...)")
    if _GLOB_STAR.search(pattern):
        stem = pattern.replace("*", "").strip()
        raise ValueError(f"the pattern {pattern!r} would never match: \"*\" stands only between words, with "
                         f"spaces (\"nehme * teil\"); for any ending write \"...\": {stem}...")
    if _REGEX_SIGNS.search(pattern):
        raise ValueError(f"the pattern {pattern!r} would never match: patterns are plain words, not regular "
                         "expressions; write each word as its own item (- register, - registration), "
                         "\"...\" after a word for any ending")
    return pattern


WordPattern = Annotated[str, AfterValidator(_word_pattern)]


def _names_something(pattern: str) -> str:
    """A subject or phrase of automatic mail names something; brackets and stars are its own letters there
    ("[auto-reply]", "***spam***": the text is matched as written)."""
    if not pattern.replace("...", "").replace("*", "").strip():
        raise ValueError(f"the pattern {pattern!r} names nothing, so it would match every mail; write the "
                         "words it stands for")
    return pattern


SubjectPattern = Annotated[str, AfterValidator(_names_something)]


class IntentPatterns(_Strict):
    interest: list[WordPattern] = []
    question: list[WordPattern] = []
    cancellation: list[WordPattern] = []
    negation: list[WordPattern] = Field(default=[], description="words that negate, added to the built-in ones")
    auto_reply_subjects: list[SubjectPattern] = []
    auto_reply_phrases: list[SubjectPattern] = []
    bounce_subjects: list[SubjectPattern] = []


class ClassificationRules(_Strict):
    """The classification section of rules.yaml: evidence for audiences, intent patterns, robot senders."""

    audiences: dict[str, AudienceEvidence] = {}
    intents: IntentPatterns = IntentPatterns()
    robot_senders: list[str] = [
        "mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "ndr",
        "mail-delivery", "maildelivery", "autoreply", "auto-reply",
    ]


class Limits(_Strict):
    max_message_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_mime_depth: int = Field(default=30, gt=0)
    max_parts: int = Field(default=500, gt=0)


PATTERNS_VERSION = 2   # word patterns match whole words; "..." marks a stem (version 1: every word was a stem)


class Rules(_Strict):
    rules_version: int = Field(default=1, ge=1, le=PATTERNS_VERSION,
                               description="2: word patterns match whole words, '...' marks a stem")
    events: list[Event] = Field(min_length=1)
    mailboxes: dict[str, Mailbox] = Field(min_length=1)
    database: Annotated[Path, BeforeValidator(_a_file_name)] = Path("mailflow.db")
    database_group: str | None = Field(
        default=None, description="a group that may read the database files (mode 0640; without it 0600)",
    )
    templates: Path = Path("templates")
    poll_interval: int = Field(default=60, gt=0, description="seconds between passes of `mailflow run`")
    reply_interval_days: float = Field(
        default=7, ge=0, description="at most one automatic reply of a kind per sender in this many days (0: no limit)"
    )
    keep_raw_mail_days_after_event: int | None = Field(
        default=None, ge=0,
        description="days after an event's end to keep the raw mails about it; then `mailflow purge` "
        "(and the daemon, daily) blanks them, keeping the classification (null: keep forever)",
    )
    notify_other_coordinator: Literal["forward", "none"] = "forward"
    send_rate_per_minute: int = Field(default=0, ge=0, description="at most this many mails a minute (0: no limit)")
    bounce_grace_minutes: float = Field(
        default=10, ge=0, description="a new address gets its confirmation alone; agenda, access and reminders "
        "follow when it has been out this long without a bounce",
    )
    reconnect_max_delay: float = Field(default=300, gt=0, description="longest wait between reconnection attempts")
    answer_mail_since: DateOrTime = Field(
        default=None, description="mail that arrived before this is archived, not answered (default: the event's "
        "registration opening, else 7 days before mailflow first opened the mailbox)",
    )
    announcements: dict[
        Literal["agenda", "agenda_update", "access", "reminder", "followup", "calendar_cancel", "invitation"],
        dict[str, str],
    ] = {}
    classification: ClassificationRules = ClassificationRules()
    replies: dict[str, dict[str, str]] = {}
    on_behalf: dict[OnBehalfKind, dict[str, str]] = {}
    limits: Limits = Limits()
    alarm: AlarmSettings = AlarmSettings()
    source: Path = Field(default=Path("rules.yaml"), exclude=True)
    _lines: dict[tuple, int] = PrivateAttr(default_factory=dict)

    @field_validator("replies")
    @classmethod
    def _answerable(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for intent in value:
            if intent not in REPLY_KINDS:
                if intent in AUTOMATIC_INTENTS:
                    raise ValueError(f"{intent!r} mail is automatic and is never answered; remove it")
                raise ValueError(
                    f"unknown intent {intent!r}{_did_you_mean(intent, REPLY_KINDS)}"
                    f"; answerable intents are {', '.join(ANSWERABLE_INTENTS)}; {INTEREST_WITH_QUESTION} answers "
                    f"a registration that also asks, {REGISTRATION_CLOSED} one that came too late"
                )
        return value

    @field_validator("database_group")
    @classmethod
    def _group_exists(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                grp.getgrnam(value)
            except KeyError:
                raise ValueError("no such group on this machine; name an existing group (getent group lists "
                                 "them) or remove the key, and the database files are the owner's alone") from None
        return value

    @model_validator(mode="after")
    def _audiences_known(self) -> Rules:
        known = self.audiences
        for name in self.classification.audiences:
            if name not in known:
                raise _Located(("classification", "audiences", name),
                               f"no mailbox has the audience {name!r} (the mailboxes' audiences: "
                               f"{', '.join(sorted(known))})",
                               f"{_did_you_mean(name, known).lstrip('; ')} give a mailbox `audience: {name}`, or "
                               "name here the audiences the mailboxes have".lstrip())
        for section, entries in (("replies", self.replies), ("announcements", self.announcements),
                                 ("on_behalf", self.on_behalf)):
            for kind, by_audience in entries.items():
                for name in by_audience:
                    if name not in known:
                        raise _Located((section, kind, name),
                                       f"names audience {name!r}; the mailboxes' audiences: {', '.join(sorted(known))}",
                                       _did_you_mean(name, known).lstrip("; ") or "use one of those")
        return self

    def line_of(self, *key: str | int) -> int | None:
        """The line in rules.yaml of a key path ('events', 0, 'end'), or of its nearest parent."""
        return _line_for(self._lines, key)

    def answer_mail_since_at(self, mailbox: str) -> tuple[datetime, str] | None:
        """The mailbox's `answer_mail_since` (its own, else the top level's) as a moment in the first
        event's zone, and the key that set it; None when neither is set."""
        box = self.mailboxes.get(mailbox)
        for value, key in ((box.answer_mail_since if box else None, f"mailboxes.{mailbox}.answer_mail_since"),
                           (self.answer_mail_since, "answer_mail_since")):
            if value is not None:
                return self.events[0]._moment(value, end_of_day=False), key
        return None

    def alarm_for(self, mailbox: str) -> tuple[timedelta, str]:
        """How long an outage of `mailbox` lasts before its alarm, and who gets it: the mailbox's own
        `alarm` keys, else the top level's, else 1 h and the other mailbox's coordinator."""
        own = self.mailboxes[mailbox].alarm or AlarmSettings()
        after = own.after or self.alarm.after or "1h"
        others = [box.address for name, box in self.mailboxes.items() if name != mailbox]
        return parse_duration(after), own.to or self.alarm.to or (others or [self.mailboxes[mailbox].address])[0]

    @property
    def audiences(self) -> list[str]:
        return sorted({self.audience_of(name) for name in self.mailboxes})

    def audience_of(self, mailbox: str) -> str:
        return self.mailboxes[mailbox].audience or mailbox

    def mailbox_for_audience(self, audience: str) -> str:
        for name in self.mailboxes:
            if self.audience_of(name) == audience:
                return name
        raise KeyError(audience)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(box.address for box in self.mailboxes.values())

    def resolve(self, path: Path) -> Path:
        """Relative paths in rules.yaml are relative to the file itself."""
        return path if path.is_absolute() else self.source.parent / path

    @property
    def database_path(self) -> Path:
        return self.resolve(self.database)

    @property
    def templates_path(self) -> Path:
        return self.resolve(self.templates)


def _did_you_mean(word: object, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def load_rules(path: Path | str) -> Rules:
    """Read and validate rules.yaml; raise RulesError listing every problem with its line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RulesError(
            [RulesProblem(path, None, "file not found",
                          "pass --rules PATH or set MAILFLOW_RULES, or start one with `mailflow init`")]) from None
    except IsADirectoryError:
        inside = path / "rules.yaml"
        raise RulesError([RulesProblem(path, None, "is a folder, not a rules file",
                                       f"pass --rules {inside}" if inside.is_file() else
                                       "pass the rules file itself: --rules FOLDER/rules.yaml")]) from None
    except OSError as exc:
        raise RulesError([RulesProblem(path, None, f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError([not_utf8(path, data, exc)]) from None
    if "\x00" in text:   # UTF-16 without its byte-order mark: its ASCII is valid UTF-8, a NUL after each letter
        raise RulesError([not_utf8(path, data, None)])
    return parse_rules(text, path)


# libyaml's loader when PyYAML was built with it: the same nodes, marks and data, ten times faster
# (the pure-Python one took 30 ms of every start).
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What a rules.yaml may ask of the parser, checked on its event stream before a node is built:
# libyaml's composer recurses in C (a segfault at 100,000 nested brackets), and an alias is a
# reference, so ten lines of aliases (a "billion laughs") expand to a billion nodes for the line
# map and pydantic. Aliases stay allowed (`<<: *server` for two mailboxes on one server) up to
# MAX_ALIAS_NODES nodes written out; the shipped file has 600 nodes and nests 5 deep.
MAX_DEPTH = 50
MAX_ALIAS_NODES = 10_000


class _UnreadableValue(yaml.constructor.ConstructorError):
    pass


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:   # 2020-02-30, a number of 5,000 digits: say where
            raise _UnreadableValue(None, None, f"this value cannot be read: {exc}", node.start_mark) from None


def _check_shape(text: str, path: Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH, an alias inside its own anchor and aliases that expand
    past MAX_ALIAS_NODES, reading only events (linear in the text, at most MAX_DEPTH open at once)."""
    sizes: dict[str, int] = {}                      # anchor -> nodes of its value, aliases written out
    open_: list[tuple[str | None, int]] = []        # each collection being read: (anchor, nodes before it)
    nodes = from_aliases = 0
    crossed: int | None = None
    for event in yaml.parse(text, Loader=_BaseLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_):
                raise RulesError([RulesProblem(
                    path, line, f"the YAML alias *{event.anchor} is inside its own anchor &{event.anchor}, "
                    "so its value never ends", "write the values out")])
            size = sizes.get(str(event.anchor), 0)  # an undefined alias: the composer names it
            nodes += size
            from_aliases += size
            if from_aliases > MAX_ALIAS_NODES and crossed is None:
                crossed = line
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            open_.append((event.anchor, nodes))
            nodes += 1
            if len(open_) > MAX_DEPTH:
                raise RulesError([RulesProblem(
                    path, line, f"rules.yaml nests more than {MAX_DEPTH} levels deep here",
                    "a rules file needs 5; check the brackets and the indentation")])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before = open_.pop()
            if anchor:
                sizes[anchor] = nodes - before
    if crossed is not None:
        raise RulesError([RulesProblem(
            path, crossed, f"rules.yaml uses YAML aliases (&name / *name) in a way that expands to {nodes:,} "
            f"nodes (aliases may add at most {MAX_ALIAS_NODES:,})", "write the values out")])


def _compose_and_construct(text: str, path: Path) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse (after the shape check)."""
    _check_shape(text, path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        # before construction merges `<<: *anchor` into the mapping
        found = [*_keys_given_twice(node, path), *_values_cut_by_comments(node, text.splitlines(), path)]
        if found:
            raise RulesError(sorted(found, key=lambda problem: problem.line or 0))
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def parse_rules(text: str, path: Path) -> Rules:
    try:
        node, data = _compose_and_construct(text, path)
    except _UnreadableValue as exc:
        mark = exc.problem_mark
        raise RulesError([RulesProblem(path, mark.line + 1 if mark else None, str(exc.problem or exc))]) from None
    except yaml.MarkedYAMLError as exc:
        raise RulesError([_yaml_problem(path, text, exc)]) from None
    if not isinstance(data, dict):
        raise RulesError([RulesProblem(path, 1, "rules.yaml must be a mapping of settings (events:, mailboxes:, ...)")])
    lines = _line_map(node)
    try:
        rules = Rules.model_validate({**data, "source": path.resolve()})
    except ValidationError as exc:
        written = _written_scalars(node)
        raise RulesError([_problem(path, lines, err, written) for err in exc.errors()]) from None
    rules._lines = lines
    for name, box in rules.mailboxes.items():   # a ca_file is relative to rules.yaml, as every path in it
        servers = {kind: server.model_copy(update={"ca_file": rules.resolve(server.ca_file)})
                   for kind, server in (("imap", box.imap), ("smtp", box.smtp)) if server and server.ca_file}
        if servers:
            rules.mailboxes[name] = box.model_copy(update=servers)
    ids = [event.id for event in rules.events]
    found = [RulesProblem(path, rules.line_of("events", index, "id"),
                          f"events[{index}].id: {ids[index]!r} is the id of an earlier event too",
                          "give each event its own id: registrations, releases and reminders are kept by it")
             for index, event_id in enumerate(ids) if event_id in ids[:index]]
    found += _mailboxes_sharing_an_address(rules, path)
    for index, event in enumerate(rules.events):
        found += _times_outside(rules, path, index, event)
    if found:
        raise RulesError(found)
    # (after the above: a mailbox copied under another name is one problem, not one per announcement)
    missing = _announcements_left_out(rules, path) or _missing_closed_replies(rules, path)
    if missing:
        raise RulesError(missing)
    return rules


def _yaml_problem(path: Path, text: str, exc: yaml.MarkedYAMLError) -> RulesProblem:
    """The YAML parser's error, where the coordinator's mistake is: a quote left open runs on to the next
    quote, and the parser only stumbles there, lines later; a key without its colon or a list item without
    the space after its dash is found a line later or more (`_missing_space`)."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = str(exc.problem or exc)
    opened = _quote_open_at(text.splitlines()[:line - 1] if line else [])
    if opened is not None:
        return RulesProblem(path, opened, 'a quote (") opened on this line is not closed',
                            'end the value with " on the same line')
    missing = _missing_space(path, text.splitlines(), exc)
    if missing is not None:
        return missing
    if "mapping values are not allowed" in problem:
        return RulesProblem(path, line, "this is not valid YAML: a colon and a space inside a value",
                            'put the value in quotes: title: "Workshop: digital cities"')
    return RulesProblem(path, line, f"this is not valid YAML: {problem}",
                        "check indentation (spaces, not tabs) and that every 'key: value' has a space after the colon")


_GLUED_DASH = re.compile(r"\s*-(?=[^\s-])")   # `-register`: a word, not a list item


def _missing_space(path: Path, rows: list[str], exc: yaml.MarkedYAMLError) -> RulesProblem | None:
    """`-register` (a list item without the space after its dash), `venue Online` or `venue:Online` (a key
    without a colon and a space): the parser reads on and stumbles on a later line ("could not find expected
    ':'"), where a coordinator finds nothing wrong. Its context mark ("while scanning a simple key", "while
    parsing a block mapping") is where the slip is; None when these lines show neither slip."""
    if exc.problem_mark is None:
        return None
    last = exc.problem_mark.line
    first = exc.context_mark.line if exc.context_mark is not None else max(last - 1, 0)
    for number in range(first, min(last + 1, len(rows))):
        if _GLUED_DASH.match(rows[number]):
            return RulesProblem(path, number + 1, "this is not valid YAML: a list item without a space after its dash",
                                f"a dash needs a space after it: `- {_without_comment(rows[number])[1:]}`")
    for number in range(first, min(last + 1, len(rows))):
        if _dashless_item(rows, number):
            return RulesProblem(path, number + 1, "this is not valid YAML: a list item without its dash",
                                f"write it as the items around it: `- {_without_comment(rows[number])}`")
    if exc.context_mark is None or "simple key" not in str(exc.context) or exc.context_mark.line >= len(rows):
        return None
    written = _without_comment(rows[exc.context_mark.line])
    key, colon, value = written.partition(":")
    if not colon:
        key, _, value = written.partition(" ")
    return RulesProblem(path, exc.context_mark.line + 1,
                        "this is not valid YAML: a key without a colon and a space after it",
                        f"a key needs a colon and a space after it: `{key.strip()}:{' ' if value.strip() else ''}"
                        f"{value.strip()}`")


def _dashless_item(rows: list[str], number: int) -> bool:
    """Whether the row is words among list items of its own indentation, without the "- " they have (it was
    "a key without a colon": `interest: in` for `interest in`, or a problem 60 lines further down)."""
    written = _without_comment(rows[number])
    if not written or written.startswith(("-", "#")) or ":" in written:
        return False
    indent = len(rows[number]) - len(rows[number].lstrip())

    def near(step: int) -> str | None:
        at = number + step
        while 0 <= at < len(rows) and (not rows[at].strip() or rows[at].lstrip().startswith("#")):
            at += step
        return rows[at] if 0 <= at < len(rows) else None

    return any(row is not None and len(row) - len(row.lstrip()) == indent and row.lstrip().startswith("- ")
               for row in (near(-1), near(1)))


def _without_comment(row: str) -> str:
    return re.split(r"\s+#", row.strip(), maxsplit=1)[0].strip()


def _quote_open_at(lines: list[str]) -> int | None:
    """The line whose double quote is still open after the last of `lines` (a value may go on over lines, as
    long as its quote closes); None when every quote is closed. Not in comments or single quotes; a backslash
    escapes a quote inside double quotes (two do not)."""
    quote, opened = "", None
    for number, row in enumerate(lines, 1):
        before, previous, escapes = (":" if quote else ""), " ", 0   # `before`: the last non-blank outside quotes
        for char in row:
            if quote == '"' and char == '"' and escapes % 2 == 0 or quote == "'" and char == "'":
                quote = ""
            elif not quote and char in "\"'" and before in ":[{,-":   # a quote only where a value starts
                quote, opened = char, number
            elif not quote and char == "#" and previous in " \t":
                break
            escapes = escapes + 1 if char == "\\" and quote == '"' else 0
            if not quote and not char.isspace():
                before = char
            previous = char
        if quote == "'":   # a single-quoted value over lines: not what this looks for
            quote = ""
    return opened if quote == '"' else None


def _mailboxes_sharing_an_address(rules: Rules, path: Path) -> list[RulesProblem]:
    """Two mailboxes with one address (one written twice, or a mailbox's block copied under another name):
    both would read the same inbox, and every mail would be answered twice, or by the wrong coordinator."""
    first: dict[str, str] = {}
    problems = []
    for name, box in rules.mailboxes.items():
        if box.address in first:
            problems.append(RulesProblem(
                path, rules.line_of("mailboxes", name, "address"),
                f"mailboxes.{name}.address: {box.address} is the address of mailbox {first[box.address]} too "
                f"(line {rules.line_of('mailboxes', first[box.address], 'address')})",
                "give each mailbox its own address: mail to one address would be read by both, answered twice "
                "or by the wrong coordinator"))
        first.setdefault(box.address, name)
    return problems


def _times_outside(rules: Rules, path: Path, index: int, event: Event) -> list[RulesProblem]:
    """Times of an event that contradict it: registration that closes after the event ends (people registered
    for an event that is over) or opens when it has begun, and an agenda or access details released when it is
    over (nothing is sent for an event that is over: they never went out). A date alone closes at the end of
    its day, so the event's own day is a closing date that is taken. A thank-you after the event is no
    `send_at`: it is `mailflow release followup`."""
    def written(value: datetime | date) -> str:
        return f"{value:%Y-%m-%dT%H:%M}" if isinstance(value, datetime) else value.isoformat()

    problems = []
    where = f"events.{index}"
    opens, closes = event.registration.opens, event.registration.closes
    # (a time with a UTC offset, which YAML reads as such, is compared as a moment: it crashed every command)
    if closes is not None and (event.zoned(closes) > event.ends_at if isinstance(closes, datetime)
                               else closes > event.end.date()):
        problems.append(RulesProblem(
            path, rules.line_of("events", index, "registration", "closes"),
            f"{where}.registration.closes: {written(closes)} is after the event ends ({event.end:%Y-%m-%d %H:%M}): "
            "people would be registered for an event that is over",
            f"write when registration closes, at the latest {written(event.end)}, or null: then it closes when "
            "the event ends"))
    opens_at = event.registration_opens_at
    if opens is not None and opens_at is not None and opens_at >= event.starts_at:
        problems.append(RulesProblem(
            path, rules.line_of("events", index, "registration", "opens"),
            f"{where}.registration.opens: {written(opens)} is not before the event starts "
            f"({event.start:%Y-%m-%d %H:%M}): nobody could register before it",
            f"write when registration opens, before {written(event.start)}; a date alone opens at the start of "
            "that day"))
    for kind, release, what in (("agenda", event.releases.agenda, "the agenda"),
                                ("access", event.releases.access, "the access details")):
        if release.send_at is not None and release.send_at >= event.end:
            problems.append(RulesProblem(
                path, rules.line_of("events", index, "releases", kind, "send_at"),
                f"{where}.releases.{kind}.send_at: {written(release.send_at)} is not before the event ends "
                f"({event.end:%Y-%m-%d %H:%M}): nothing is sent for an event that is over, so {what} would never "
                "go out", "write a time before the event ends; a thank-you or the recording after it goes out with "
                "`mailflow release followup`"))
    return problems


def _announcements_left_out(rules: Rules, path: Path) -> list[RulesProblem]:
    """A kind of announcement with a template for some audiences and not others: `check` said ok, and its
    release stopped at the first registrant of the audience left out (calendar_cancel may leave one out: that
    audience gets no cancellation, with a log line; so may invitation: `mailflow invite` says whom it skips)."""
    return [RulesProblem(path, rules.line_of("announcements", kind),
                         f"announcements.{kind} has no template for audience {audience!r} (it has one for "
                         f"{', '.join(sorted(by_audience))}): a release would stop at its first {audience} registrant",
                         f"add `{audience}: {kind}_{audience}.txt` under `{kind}:`")
            for kind, by_audience in rules.announcements.items()
            if by_audience and kind not in ("calendar_cancel", "invitation")
            for audience in rules.audiences if not by_audience.get(audience)]


def _missing_closed_replies(rules: Rules, path: Path) -> list[RulesProblem]:
    """Every audience that is answered for its registrations needs the reply for late ones."""
    closed = rules.replies.get(REGISTRATION_CLOSED, {})
    return [
        RulesProblem(path, rules.line_of("replies", Intent.INTEREST, audience),
                     f"replies.{REGISTRATION_CLOSED}.{audience} is missing: a registration that arrives after "
                     "the registration window closed gets this reply instead",
                     f"add under replies:  {REGISTRATION_CLOSED}: {{{audience}: {REGISTRATION_CLOSED}_{audience}.txt}}")
        for audience in rules.replies.get(Intent.INTEREST, {}) if audience not in closed
    ]


def _keys_given_twice(node: yaml.Node | None, path: Path) -> list[RulesProblem]:
    """A key written twice in one mapping: YAML keeps the last silently (a second `events:` at the end of the
    file dropped every event above it)."""
    problems: dict[int, RulesProblem] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                stack.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key_node.start_mark.line + 1
                if key_node.value in seen and line not in problems:
                    problems[line] = RulesProblem(
                        path, line, f"'{key_node.value}' is given twice here (first on line {seen[key_node.value]}):"
                        " only the last would count", "keep one of them" + (
                            ": several events go in one `events:` list, an item each"
                            if key_node.value == "events" else ""))
                seen.setdefault(key_node.value, line)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return [problems[line] for line in sorted(problems)]


_CUT_BY_COMMENT = re.compile(r"[ \t]+#(?=\w)(?P<rest>.*)")   # ` #3 on digital cities`: no space after the #


def _values_cut_by_comments(node: yaml.Node | None, rows: list[str], path: Path) -> list[RulesProblem]:
    """A text value followed by ` #` and a word (`title: Workshop #3 on digital cities`): YAML reads the rest
    of the line as a comment, and the title was "Workshop" in every reply. Refused, not warned about: a cut
    title or venue goes to every registrant, and a warning is easily missed (the daemon only logs it); a
    comment writes a space after its # (`poll_interval: 60  # seconds`), and after a number, true/false or
    null nothing is cut."""
    problems = []
    for where, value, cut in _text_followed_by(node, rows, _CUT_BY_COMMENT):
        comment = "#" + cut["rest"].strip()
        key = "-" if not where or isinstance(where[-1], int) else f"{where[-1]}:"
        problems.append(RulesProblem(
            path, value.end_mark.line + 1,
            f"{'.'.join(map(str, where)) or 'rules.yaml'}: YAML reads '{comment}' as a comment, so the value "
            f"is only {value.value!r}", f'put the value in quotes: {key} "{value.value} {comment}", or '
            'a space after the "#" if it is a comment'))
    return problems


_NUMBER_COMMENT = re.compile(r"[ \t]+#[ \t]+(?P<rest>\d.*)")   # ` # 3`: a comment that begins with a number


def numbered_comments(path: Path | str) -> list[RulesProblem]:
    """A text value followed by ` # 3` (`title: Workshop # 3`): a comment to YAML, so the title is "Workshop".
    It may be meant (`venue: Online  # 2 rooms`), so `check` warns and nothing is refused."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node, _data = _compose_and_construct(text, path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RulesError):
        return []
    found = []
    for where, value, cut in _text_followed_by(node, text.splitlines(), _NUMBER_COMMENT):
        comment = "# " + cut["rest"].strip()
        key = "-" if not where or isinstance(where[-1], int) else f"{where[-1]}:"
        found.append(RulesProblem(
            path, value.end_mark.line + 1, f"{'.'.join(map(str, where)) or 'rules.yaml'}: YAML reads '{comment}' as "
            f"a comment, so the value is only {value.value!r}",
            f'if "{comment}" belongs to it, put the value in quotes: {key} "{value.value} {comment}"'))
    return found


def _text_followed_by(node: yaml.Node | None, rows: list[str],
                      pattern: re.Pattern) -> list[tuple[tuple, yaml.ScalarNode, re.Match]]:
    """Each plain text value whose line goes on, right after it, as `pattern` says: (key path, node, match)."""
    found = []
    stack: list[tuple[tuple, yaml.Node]] = [((), node)] if node is not None else []
    while stack:
        where, current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            stack.extend(((*where, k.value if isinstance(k, yaml.ScalarNode) else "?"), v) for k, v in current.value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(((*where, index), item) for index, item in enumerate(current.value))
        elif isinstance(current, yaml.ScalarNode) and not current.style and \
                current.tag == "tag:yaml.org,2002:str" and current.end_mark.line < len(rows):
            match = pattern.match(rows[current.end_mark.line], current.end_mark.column)
            if match:
                found.append((where, current, match))
    return found


def _line_map(node: yaml.Node | None, prefix: tuple = ()) -> dict[tuple, int]:
    """Map each key path (('mailboxes', 'german', 'imap', 'port')) to its 1-based line."""
    found: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            plain = key_node.tag == "tag:yaml.org,2002:str"
            key = key_node.value if plain else yaml.safe_load(yaml.serialize(key_node))
            path = prefix + (key,)
            found[path] = key_node.start_mark.line + 1
            found.update(_line_map(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = prefix + (index,)
            found[path] = item.start_mark.line + 1
            found.update(_line_map(item, path))
    return found


def _written_scalars(node: yaml.Node | None, prefix: tuple = ()) -> dict[tuple, str]:
    """Each plain value as the coordinator wrote it (`+49`, `no`, `12:30`), by its key path: YAML gives 49,
    False and 750."""
    found: dict[tuple, str] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                found.update(_written_scalars(value_node, (*prefix, key_node.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.update(_written_scalars(item, (*prefix, index)))
    elif isinstance(node, yaml.ScalarNode) and not node.style:
        found[prefix] = node.value
    return found


def _not_text(loc: tuple, got: Any, written: dict[tuple, str]) -> tuple[str, str] | None:
    """A plain value YAML reads as something else where text belongs: `title: 2026`, `[+49]` (the number 49),
    `tlds: [no]` (Norway, false), `venue: 12:30` (750 in YAML's base 60); as pydantic puts it, "Input should
    be a valid string (got 49)". The message and the fix, or None when it is neither."""
    raw = written.get(loc) or ("true" if got is True else "false" if got is False else str(got))
    if isinstance(got, bool):
        what = "a yes-or-no value" if raw.lower() == str(got).lower() else \
            f"{str(got).lower()} (yes, no, on and off are true or false to it)"
    elif isinstance(got, date):
        what = "a date and time" if isinstance(got, datetime) else "a date"
    elif isinstance(got, (int, float)):
        what = "a number" if raw == str(got) else f"the number {got}"
    else:
        return None
    key = f"{loc[-1]}: " if loc and isinstance(loc[-1], str) else ""
    return f"YAML reads {raw} as {what}, not as text", f'write it in quotes: {key}"{raw}"'


class _Located(ValueError):
    """A check of the whole file whose problem has a key of its own (pydantic places a model's own errors
    nowhere: "rules.yaml: rules.yaml: classification.audiences names ...", with no line)."""

    def __init__(self, loc: tuple, message: str, fix: str = ""):
        super().__init__(message)
        self.loc, self.fix = loc, fix


def _problem(path: Path, lines: dict[tuple, int], err: ErrorDetails,
             written: dict[tuple, str] | None = None) -> RulesProblem:
    located = (err.get("ctx") or {}).get("error")
    if isinstance(located, _Located):
        return RulesProblem(path, _line_for(lines, located.loc), f"{'.'.join(map(str, located.loc))}: {located}",
                            located.fix)
    loc = tuple(part for part in err["loc"]
                if not (isinstance(part, str) and part.startswith(("function-", "literal["))))
    line = _line_for(lines, loc)
    dotted = ".".join(str(p) for p in loc) or "rules.yaml"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = _did_you_mean(loc[-1], allowed).lstrip("; ")
        if not hint:
            hint = f"allowed keys here: {', '.join(sorted(allowed))}" if allowed else "remove it"
        where = ".".join(map(str, loc[:-1])) or "the top level"
        return RulesProblem(path, line, f"unknown key {loc[-1]!r} in {where}", hint)
    if kind == "missing":
        return RulesProblem(path, _line_for(lines, loc[:-1]), f"{dotted} is missing", f"add '{loc[-1]}:' here")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        return RulesProblem(path, line, f"{dotted} is {got!r}",
                            f"use one of {expected}{_did_you_mean(got, _literal_words(expected))}")
    got = err.get("input")
    if kind == "string_type":
        if got is None:
            after = "the dash" if loc and isinstance(loc[-1], int) else "the colon"
            return RulesProblem(path, line, f"{dotted}: has no value", f"write its value after {after} and a space")
        not_text = _not_text(loc, got, written or {})
        if not_text is not None:
            return RulesProblem(path, line, f"{dotted}: {not_text[0]}", not_text[1])
    message = _plain(kind, err.get("ctx") or {}) or err["msg"].removeprefix("Value error, ")
    if isinstance(got, date):   # as it was written, not datetime.date(2020, 10, 7)
        got = got.isoformat()
    shown = "" if isinstance(got, (dict, list)) or got is None or repr(got) in message else f" (got {got!r})"
    return RulesProblem(path, line, f"{dotted + ': ' if loc else ''}{message}{shown}", _type_hint(kind))


def changed_patterns(path: Path | str) -> list[RulesProblem]:
    """Every word pattern of a rules.yaml written before whole-word matching (no `rules_version: 2`)
    whose meaning changed: it found any word starting with it, now only the whole word."""
    path = Path(path)
    try:
        node, data = _compose_and_construct(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RulesError):
        return []
    if not isinstance(data, dict) or data.get("rules_version", 1) >= PATTERNS_VERSION:
        return []
    lines = _line_map(node)
    found: list[RulesProblem] = []
    classification = data.get("classification") or {}
    lists: list[tuple[tuple[str, ...], Any]] = [(("classification", "intents", name), patterns)
             for name, patterns in (classification.get("intents") or {}).items()]
    lists += [(("classification", "audiences", name, "phrases"), evidence.get("phrases") or [])
              for name, evidence in (classification.get("audiences") or {}).items() if isinstance(evidence, dict)]
    for where, patterns in lists:
        for index, pattern in enumerate(patterns if isinstance(patterns, list) else []):
            if isinstance(pattern, str) and pattern.strip() and (pattern.strip()[-1].isalnum()):
                found.append(RulesProblem(
                    path, _line_for(lines, (*where, index)),
                    f"{'.'.join(map(str, where))}: {pattern!r} matched every word starting with it; "
                    "now it matches the whole word only",
                    f"write {pattern.strip() + '...'!r} to keep the old meaning; then add 'rules_version: 2' "
                    "at the top to say the patterns are checked",
                ))
    return found


def _literal_words(expected: str) -> list[str]:
    return [w.strip(" '\"") for w in expected.replace(" or ", ",").split(",") if w.strip(" '\"")]


def _plain(kind: str, ctx: dict[str, Any]) -> str | None:
    """pydantic's "Input should be greater than 0" or "Dictionary should have at least 1 item after validation"
    in a coordinator's words (None: its own message is meant for people, as a validator's)."""
    return {
        "list_type": "is not a list",
        "dict_type": "is not a mapping of 'key: value' lines",
        "model_type": "is not a mapping of 'key: value' lines",
        "int_parsing": "is not a whole number",
        "int_type": "is not a whole number",
        "int_from_float": "is not a whole number",
        "float_parsing": "is not a number",
        "float_type": "is not a number",
        "bool_parsing": "is not true or false",
        "bool_type": "is not true or false",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "greater_than_equal": f"must be {ctx.get('ge')} or more",
        "less_than": f"must be less than {ctx.get('lt')}",
        "less_than_equal": f"must be {ctx.get('le')} at most",
        "too_short": "is empty",
        "time_parsing": "is not a time of day",
        "time_type": "is not a time of day",
    }.get(kind)


def _type_hint(kind: str) -> str:
    return {
        "int_parsing": "write a whole number without quotes",
        "int_type": "write a whole number without quotes",
        "int_from_float": "write a whole number",
        "time_parsing": "write a time of day like 08:00",
        "time_type": "write a time of day like 08:00",
        "greater_than": "write a bigger number",
        "greater_than_equal": "write a bigger number",
        "less_than": "write a smaller number",
        "less_than_equal": "write a smaller number",
        "float_parsing": "write a number without quotes",
        "bool_parsing": "write true or false",
        "list_type": "write a list, one '- item' per line",
        "dict_type": "write a mapping of 'key: value' lines, indented below this key",
        "model_type": "write a mapping of 'key: value' lines, indented below this key",
        "datetime_from_date_parsing": "write a date and time like 2020-10-07T13:00",
        "datetime_parsing": "write a date and time like 2020-10-07T13:00",
        "date_from_datetime_parsing": "write a date like 2020-10-01 or a date and time like 2020-10-01T18:00",
        "date_parsing": "write a date like 2020-10-01 or a date and time like 2020-10-01T18:00",
        "too_short": "add at least one entry",
    }.get(kind, "")


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _allowed_keys(loc: tuple) -> list[str]:
    """Walk the model annotations along loc to list the keys valid at that place."""
    current: Any = Rules
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if args else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [name for name, f in current.model_fields.items() if not f.exclude]
    return []


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation
