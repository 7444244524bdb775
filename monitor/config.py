"""Configuration: the one place that reads the TOML file and MONITOR_* environment variables.

Everything else receives the resulting `Settings` object explicitly. Precedence, highest first:
MONITOR_* environment variables (nested keys with a double underscore, e.g.
MONITOR_MAIL__SMTP_HOST), then the TOML file. The file is found from `--config`, else
MONITOR_CONFIG, else ./monitor.toml, else the bundled example in examples/.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "MONITOR_"
REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_EXAMPLE = REPO_ROOT / "examples" / "ankermoor.toml"

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# A sender address needs a domain too, but "name@localhost" is a valid envelope sender.
_SENDER = re.compile(r"^[^@\s<>]+@[^@\s<>.][^@\s<>]*$")


def _no_blanks(values: tuple[str, ...]) -> tuple[str, ...]:
    # A blank name would match nothing (or, after stripping, everything): refuse it here.
    if any(not v.strip() for v in values):
        raise ValueError("an entry is blank; remove it or write the name")
    return values


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkSettings(_Section):
    """How the guarded HTTP client behaves (sources/http.py)."""

    contact_url: str = "https://github.com/mention-monitor/mention-monitor"
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    allow_private: tuple[str, ...] = ()
    per_host_interval_seconds: float = Field(1.0, ge=0)
    robots_cache_hours: float = Field(24.0, gt=0, le=24)
    max_backoff_hours: float = Field(48.0, gt=0, le=48)

    @field_validator("allow_private")
    @classmethod
    def _allow(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        # Checked here so a typo ("127.0.0.l") is a config error, not a failure at first fetch.
        from sources.addresses import parse_allow_list

        parse_allow_list(v)
        return v


class ScheduleSettings(_Section):
    """When things run."""

    timezone: str = "Europe/London"
    default_interval_minutes: int = Field(15, ge=1)
    digest_time: str = "07:00"
    workers: int = Field(4, ge=1, le=64)
    outbox_interval_seconds: int = Field(20, ge=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as Europe/London"
            ) from exc
        return v

    @field_validator("digest_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"{v!r} is not a 24-hour time HH:MM, e.g. 07:00")
        return v


class QueueSettings(_Section):
    """Which executor runs the jobs (monitor/jobs.py) and how long a source run may hold its lease."""

    # "apscheduler": one process (`run`), the default. "procrastinate": `worker` processes, any
    # number, on a shared PostgreSQL database (monitor/worker.py).
    backend: Literal["apscheduler", "procrastinate"] = "apscheduler"
    # A source run's lease lasts this long; a holder that dies blocks its source no longer.
    # Longer than the slowest source run (requests, retries and scoring), plus a margin.
    lease_seconds: int = Field(900, ge=5)
    # Procrastinate: threads per worker process that run jobs.
    worker_concurrency: int = Field(8, ge=1, le=256)


class ScoringSettings(_Section):
    """The semantic scorer (monitor/scoring)."""

    model: str = ""  # a local sentence-transformers folder; empty = the bundled all-MiniLM-L6-v2
    heads: str = ""  # a trained heads file; empty = the one the package ships
    batch_size: int = Field(32, ge=1, le=1024)
    max_chars: int = Field(5000, ge=100)
    threshold: float = Field(0.5, gt=0, lt=1)
    urgent_threshold: float = Field(0.5, gt=0, lt=1)


class MailSettings(_Section):
    """Where email goes. With no smtp_host, messages are written as .eml files to outbox_dir."""

    from_address: str = "mention-monitor@localhost"
    outbox_dir: str = "outbox"
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    max_attempts: int = Field(8, ge=1, le=100)
    # --- alerts (alerts/): certificate trust, retries, link lifetimes ---
    smtp_ca_file: str = ""  # PEM file of the CA that signed a private relay's certificate
    retry_base_seconds: float = Field(60.0, gt=0)  # first retry after this; doubles each time
    retry_max_seconds: float = Field(3600.0, gt=0)
    claim_seconds: float = Field(120.0, gt=0)  # a notice being sent is not picked up again sooner
    confirm_link_days: int = Field(7, ge=1, le=90)
    unsubscribe_link_days: int = Field(365, ge=1, le=3650)

    @field_validator("from_address")
    @classmethod
    def _sender(cls, v: str) -> str:
        if not _SENDER.match(v):
            raise ValueError(
                f"{v!r} is not an email address with a domain; "
                "write e.g. mention-monitor@your-school.example.org"
            )
        return v


class WebSettings(_Section):
    """The small web app: subscription links, /healthz, dashboard."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8080"
    # Dashboard sign-in (monitor/web/auth.py): a session ends after this long without a request,
    # and in any case this long after sign-in.
    session_idle_minutes: int = Field(60, ge=1, le=24 * 60)
    session_max_hours: int = Field(12, ge=1, le=24 * 30)


class RetentionSettings(_Section):
    """How long personal data is kept."""

    mention_days: int = Field(90, ge=1)


class EvidenceSettings(_Section):
    """Evidence packs (monitor/evidence/): where they are kept and how long a capture may take."""

    # Empty: an "evidence" folder next to the SQLite database (or the working folder).
    directory: str = ""
    browser_deadline_seconds: float = Field(30.0, gt=0, le=300)
    auto_capture_urgent: bool = True


# --- intake by email (issue 14, intake item 2: sources/mailbox.py, monitor/mailintake.py) -------

_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# An allowed sender: a whole address, or "@domain" for everyone at that domain.
_ALLOWED_SENDER = re.compile(r"^([^@\s<>]+@[^@\s<>]+|@[^@\s<>.][^@\s<>]*)$")


class ImapIntakeSettings(_Section):
    """The intake mailbox that parents and staff forward mentions to (polled, never pushed to)."""

    host: str
    port: int = Field(993, ge=1, le=65535)
    # "ssl": implicit TLS (port 993); "starttls": upgrade on port 143; "none": plain text,
    # allowed only to this machine (a local relay or the tests' server).
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    ca_file: str = ""  # PEM file of a private CA to trust for the server (only that CA then)
    user: str
    password: SecretStr = SecretStr("")
    mailbox: str = "INBOX"
    # Which academy a message is for: one academy for the whole mailbox, or by the address it
    # was sent to (To, Cc, Delivered-To), for one mailbox with an alias per academy.
    academy_id: str = ""
    academy_by_recipient: dict[str, str] = {}
    allowed_senders: tuple[str, ...] = Field(min_length=1)
    quarantine_folder: str = "Quarantine"
    poll_interval_minutes: int = Field(5, ge=1, le=60)
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    max_message_mb: int = Field(25, ge=1, le=100)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v.strip() or any(c.isspace() for c in v):
            raise ValueError("write the IMAP server's name, e.g. imap.example.org")
        return v

    @field_validator("allowed_senders")
    @classmethod
    def _senders(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in v if not _ALLOWED_SENDER.match(s.strip())]
        if bad:
            raise ValueError(
                f"not an address or @domain: {', '.join(bad)}; "
                'write e.g. ["head@school.example.org", "@school.example.org"]'
            )
        return tuple(s.strip().lower() for s in v)

    @field_validator("academy_by_recipient")
    @classmethod
    def _recipients(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [a for a in v if not _EMAIL.match(a)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return {a.lower(): academy for a, academy in v.items()}

    @model_validator(mode="after")
    def _coherent(self) -> ImapIntakeSettings:
        if self.tls == "none" and self.host.strip("[]").lower() not in _LOOPBACK_HOSTS:
            raise ValueError(
                f'tls = "none" sends the password in clear text; it is allowed only for this '
                f'machine (127.0.0.1, ::1, localhost), not {self.host!r}: use "ssl" or "starttls"'
            )
        if not self.password.get_secret_value():
            raise ValueError(
                "the password is missing; set MONITOR_INTAKE__IMAP__PASSWORD in the environment"
            )
        if not self.academy_id and not self.academy_by_recipient:
            raise ValueError(
                "say which academy the mailbox is for: academy_id, or academy_by_recipient "
                'mapping each address mail is sent to, e.g. {"report@ankermoor.example.org" = '
                '"ankermoor"}'
            )
        return self


class IntakeSettings(_Section):
    """Reports that people send in (issue 14). `imap`: the intake mailbox, off when absent."""

    imap: ImapIntakeSettings | None = None


class SourceConfig(BaseModel):
    """One watched source. Keys beyond these are the kind's own options, checked by its collector."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str
    name: str
    interval_minutes: int | None = Field(None, ge=1)
    enabled: bool = True
    # Everything from this source is about the academy (e.g. its own review page), even items
    # that do not name it ("Reported bullying three times and nothing was done").
    about_academy: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("use lower-case letters, digits, '-' and '_' (at most 63)")
        return v

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AcademyConfig(_Section):
    """One watched academy: its names, what makes a match about it, and who hears about it."""

    id: str
    display_name: str
    names: tuple[str, ...] = Field(min_length=1)
    context_words: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    ambiguous_names: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    # How providers reach the academy's data protection officer (name, email, phone): their
    # breach notices give it, since they cannot open the dashboard.
    dpo_contact: str = ""
    digest: Literal["off", "daily", "weekdays"] = "daily"
    sources: tuple[SourceConfig, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("use lower-case letters, digits, '-' and '_' (at most 63)")
        return v

    @field_validator("display_name")
    @classmethod
    def _display(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the name is blank; write the academy's name as people know it")
        return v

    @field_validator("names", "context_words", "exclusions", "ambiguous_names")
    @classmethod
    def _entries(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _no_blanks(v)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in v if not _EMAIL.match(r)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return v

    @model_validator(mode="after")
    def _unique_sources(self) -> AcademyConfig:
        seen: set[str] = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"two sources are named {s.name!r}; names must be unique")
            seen.add(s.name)
        return self


class Settings(BaseSettings):
    """Everything the program is told. Built once by `load_settings` and passed explicitly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite:///mention-monitor.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    network: NetworkSettings = NetworkSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    queue: QueueSettings = QueueSettings()
    scoring: ScoringSettings = ScoringSettings()
    mail: MailSettings = MailSettings()
    web: WebSettings = WebSettings()
    retention: RetentionSettings = RetentionSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    intake: IntakeSettings = IntakeSettings()
    # Secrets per source kind, merged into every source of that kind that does not set them,
    # so they can come from the environment: MONITOR_CREDENTIALS__BLUESKY__APP_PASSWORD.
    credentials: dict[str, dict[str, SecretStr]] = {}
    academies: tuple[AcademyConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.queue.backend == "procrastinate" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                'queue.backend = "procrastinate" needs a PostgreSQL database_url '
                "(postgresql+psycopg://...); SQLite runs with the default apscheduler backend"
            )
        return self

    @model_validator(mode="after")
    def _unique_academies(self) -> Settings:
        ids = [a.id for a in self.academies]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"academy ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _intake_academies(self) -> Settings:
        imap = self.intake.imap
        if imap is None:
            return self
        ids = {a.id for a in self.academies}
        named = ([imap.academy_id] if imap.academy_id else []) + list(
            imap.academy_by_recipient.values()
        )
        unknown = sorted({a for a in named if a not in ids})
        if unknown:
            raise ValueError(
                f"intake.imap names academies that are not configured: {', '.join(unknown)}; "
                f"configured: {', '.join(sorted(ids))}"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML data arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)

    def academy(self, academy_id: str) -> AcademyConfig:
        for a in self.academies:
            if a.id == academy_id:
                return a
        raise KeyError(academy_id)

    def source_keys(self) -> list[str]:
        return [source_key(a.id, s.name) for a in self.academies for s in a.sources]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)


def source_options(settings: Settings, src: SourceConfig) -> dict[str, Any]:
    """A source's own options, completed with the credentials configured for its kind."""
    opts = src.options
    for key, secret in settings.credentials.get(src.kind, {}).items():
        opts.setdefault(key, secret.get_secret_value())
    return opts


def source_key(academy_id: str, source_name: str) -> str:
    """The stable key a source is stored under: '<academy id>/<source name>'."""
    return f"{academy_id}/{source_name}"


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every one found, with its key."""

    def __init__(self, path: Path | None, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        where = str(self.path) if self.path else "configuration"
        lines = [f"{where}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p.key}: {p.message}" for p in self.problems]
        return "\n".join(lines)


def find_config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path:
    """--config, else MONITOR_CONFIG, else ./monitor.toml, else the bundled example."""
    if explicit:
        return Path(explicit)
    if environ.get("MONITOR_CONFIG"):
        return Path(environ["MONITOR_CONFIG"])
    local = Path("monitor.toml")
    if local.exists():
        return local
    return BUNDLED_EXAMPLE


def _label(container: str | None, item: Any, index: int) -> str:
    """How a list element is named in a key: an academy by its id, a source by its name, else
    by its position (when the id or name is itself what is wrong)."""
    field = {"academies": "id", "sources": "name"}.get(container or "")
    if field and isinstance(item, Mapping):
        value = item.get(field)
        if isinstance(value, str) and _ID.match(value):
            return f".{value}"
    return f"[{index}]"


def _loc(loc: tuple[int | str, ...], data: Any = None) -> str:
    """A pydantic error location as a settings key, walking the raw data beside it so that
    `("academies", 1, "sources", 0)` reads `academies.staldhelms.sources.deep`."""
    out = ""
    node = data
    container: str | None = None
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list | tuple) and part < len(node) else None
            out += _label(container, item, part)
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
            container = part
    return out or "(top level)"


# Fields of each settings table, for "did you mean" on a misspelt key.
_TABLES: dict[str | None, type[BaseModel]] = {
    None: Settings,
    "network": NetworkSettings,
    "schedule": ScheduleSettings,
    "scoring": ScoringSettings,
    "mail": MailSettings,
    "web": WebSettings,
    "retention": RetentionSettings,
    "evidence": EvidenceSettings,
    "intake": IntakeSettings,
    "imap": ImapIntakeSettings,
    "academies": AcademyConfig,
}

# Lists whose elements are addresses, and how to say what is expected of them.
_LIST_OF = {
    "recipients": 'a list of email addresses is expected, e.g. ["head@school.example.org"]',
    "allow_private": 'a list of IP addresses or ranges is expected, e.g. ["127.0.0.1"]',
    "names": 'a list of names is expected, e.g. ["Ankermoor Primary Academy"]',
}


def _suggest(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _friendly(err: Mapping[str, Any], known: Any = None, *, data: Any = None) -> str:
    """Plain English for a pydantic error, in one place: no library jargon reaches the user.

    `known`: the settings that are valid where the error is (for a "did you mean")."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    loc = tuple(err.get("loc", ()))
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        if known is None:
            known = _known_keys(loc, data)
        return "unknown setting" + (
            _suggest(field, known) or " (check the spelling; every setting is listed in the README)"
        )
    if kind == "missing":
        return "required setting is missing"
    if kind in ("tuple_type", "list_type", "set_type", "iterable_type"):
        return _LIST_OF.get(field, 'a list is expected, e.g. ["first", "second"]')
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return "a whole number is expected, e.g. 15"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return "a number is expected, e.g. 20 or 2.5"
    if kind in ("bool_type", "bool_parsing"):
        return "true or false is expected"
    if kind in ("string_type", "string_unicode"):
        return "text in quotes is expected"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return "a table of settings is expected (a [section] in TOML)"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind in ("too_short", "string_too_short"):
        n = ctx.get("min_length", 1)
        return "at least one entry is needed" if n == 1 else f"at least {n} entries are needed"
    if kind in ("too_long", "string_too_long"):
        return f"too long: at most {ctx.get('max_length')} allowed"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    if kind.startswith("url_"):
        return "a full web address is expected, e.g. https://example.org/feed.xml"
    if kind == "value_error":
        return str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return "this text is not in the expected form"
    return "this value cannot be used here"


def _known_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """The settings that exist at the table holding loc[-1]."""
    parent = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), None)
    if parent == "sources":
        return _source_keys(loc, data)
    model = _TABLES.get(parent)
    return list(model.model_fields) if model is not None else []


def _source_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    from sources.base import registry

    node = data
    for part in loc[:-1]:
        node = node[part] if isinstance(node, list | tuple | Mapping) else None
        if node is None:
            break
    kind = node.get("kind") if isinstance(node, Mapping) else None
    collector = registry().get(kind) if isinstance(kind, str) else None
    keys = list(SourceConfig.model_fields)
    if collector is not None:
        keys += list(collector.options_model.model_fields)
    return keys


def load_settings(
    explicit: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, validate and return the settings, or raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    path = find_config_path(explicit, env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, [ConfigProblem("(file)", "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [ConfigProblem("(syntax)", f"not valid TOML: {exc}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem("(file)", f"cannot read: {exc}")]) from None
    return settings_from_mapping(data, path=path)


def settings_from_mapping(data: Mapping[str, Any], *, path: Path | None = None) -> Settings:
    """Validate already-parsed data, with MONITOR_* environment overrides, into Settings."""
    try:
        settings = Settings(**dict(data))
    except ValidationError as exc:
        problems = [
            ConfigProblem(_loc(tuple(e["loc"]), data), _friendly(e, data=data))
            for e in exc.errors()
        ]
        raise ConfigError(path, problems) from None
    problems = _check_sources(settings) + _check_addresses(settings)
    if problems:
        raise ConfigError(path, problems)
    return settings


def _check_sources(settings: Settings) -> list[ConfigProblem]:
    """Each source's kind must exist and its options must satisfy that collector."""
    from sources.base import registry  # local import: sources depends on nothing here

    problems: list[ConfigProblem] = []
    kinds = registry()
    for academy in settings.academies:
        for src in academy.sources:
            key = f"academies.{academy.id}.sources.{src.name}"
            collector = kinds.get(src.kind)
            if collector is None:
                allowed = ", ".join(sorted(kinds))
                problems.append(
                    ConfigProblem(f"{key}.kind", f"unknown kind {src.kind!r}; allowed: {allowed}")
                )
                continue
            try:
                collector.options_model.model_validate(source_options(settings, src))
            except ValidationError as exc:
                known = [*SourceConfig.model_fields, *collector.options_model.model_fields]
                for e in exc.errors():
                    loc = _loc(tuple(e["loc"]))
                    problems.append(ConfigProblem(f"{key}.{loc}", _friendly(e, known)))
    return problems


_URLISH = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if _URLISH.match(value.strip()) else []
    if isinstance(value, list | tuple):
        return [u for v in value for u in _urls(v)]
    if isinstance(value, Mapping):
        return [u for v in value.values() for u in _urls(v)]
    return []


def _check_addresses(settings: Settings) -> list[ConfigProblem]:
    """Source URLs the guarded client will refuse at the first fetch, found now: loopback,
    private and metadata addresses written as IP literals (unless network.allow_private lists
    them), names that always mean this machine, and URLs it cannot read. Pure: no DNS lookup,
    so a name that resolves to a private address is still found only when fetched."""
    from sources.addresses import UnsafeURL, address_problem, parse_allow_list, parse_target

    allow = parse_allow_list(settings.network.allow_private)
    problems: list[ConfigProblem] = []
    for academy in settings.academies:
        for src in academy.sources:
            for option, value in src.options.items():
                key = f"academies.{academy.id}.sources.{src.name}.{option}"
                for url in _urls(value):
                    try:
                        target = parse_target(url.strip())
                    except UnsafeURL as exc:
                        hint = (
                            "; write the address instead (127.0.0.1) and list it in "
                            "network.allow_private"
                            if exc.category == "loopback"
                            else ""
                        )
                        problems.append(
                            ConfigProblem(key, f"{url} will be refused: {exc.reason}{hint}")
                        )
                        continue
                    problem = address_problem(target.literal, allow) if target.literal else None
                    if problem is not None:
                        hint = (
                            f"; if this is meant, list {problem.address} in network.allow_private"
                            if problem.category in ("loopback", "private", "shared")
                            else ""
                        )
                        problems.append(
                            ConfigProblem(key, f"{url} will be refused: {problem}{hint}")
                        )
    return problems
