"""Configuration: the one place that reads the TOML file and MONITOR_* environment variables.

Everything else receives the resulting `Settings` object explicitly. Precedence, highest first:
MONITOR_* environment variables (nested keys with a double underscore, e.g.
MONITOR_MAIL__SMTP_HOST), then the TOML file. The file is found from `--config`, else
MONITOR_CONFIG, else ./monitor.toml, else the bundled example in examples/.
"""

from __future__ import annotations

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


class WebSettings(_Section):
    """The small web app: subscription links, /healthz, dashboard."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8080"


class RetentionSettings(_Section):
    """How long personal data is kept."""

    mention_days: int = Field(90, ge=1)


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
    scoring: ScoringSettings = ScoringSettings()
    mail: MailSettings = MailSettings()
    web: WebSettings = WebSettings()
    retention: RetentionSettings = RetentionSettings()
    # Secrets per source kind, merged into every source of that kind that does not set them,
    # so they can come from the environment: MONITOR_CREDENTIALS__BLUESKY__APP_PASSWORD.
    credentials: dict[str, dict[str, SecretStr]] = {}
    academies: tuple[AcademyConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_academies(self) -> Settings:
        ids = [a.id for a in self.academies]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"academy ids must be unique; repeated: {', '.join(dupes)}")
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


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _friendly(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown setting (check the spelling; every setting is listed in the README)"
    if err.get("type") == "missing":
        return "required setting is missing"
    return msg.removeprefix("Value error, ")


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
        problems = [ConfigProblem(_loc(tuple(e["loc"])), _friendly(e)) for e in exc.errors()]
        raise ConfigError(path, problems) from None
    problems = _check_sources(settings)
    if problems:
        raise ConfigError(path, problems)
    return settings


def _check_sources(settings: Settings) -> list[ConfigProblem]:
    """Each source's kind must exist and its options must satisfy that collector."""
    from sources.base import registry  # local import: sources depends on nothing here

    problems: list[ConfigProblem] = []
    kinds = registry()
    for ai, academy in enumerate(settings.academies):
        for si, src in enumerate(academy.sources):
            key = f"academies[{ai}].sources[{si}]"
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
                for e in exc.errors():
                    loc = _loc(tuple(e["loc"]))
                    problems.append(ConfigProblem(f"{key}.{loc}", _friendly(e)))
    return problems
