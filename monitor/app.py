"""The composition root: builds the store, the guarded client, the scorer and the notice sink
from one `Settings`, so commands and the service wire the same parts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitor.clock import Clock, system_clock
from monitor.config import ConfigError, Settings, load_settings
from monitor.store import Store
from sources.http import ClientConfig, GuardedClient


def client_config(settings: Settings) -> ClientConfig:
    n = settings.network
    return ClientConfig(
        contact_url=n.contact_url,
        timeout_seconds=n.timeout_seconds,
        max_body_bytes=n.max_body_bytes,
        max_redirects=n.max_redirects,
        allow_private=tuple(n.allow_private),
        per_host_interval_seconds=n.per_host_interval_seconds,
        robots_cache_seconds=n.robots_cache_hours * 3600,
        max_backoff_seconds=n.max_backoff_hours * 3600,
    )


@dataclass
class App:
    """What a command needs, created on first use."""

    config_path: str | Path | None = None
    clock: Clock = system_clock
    _settings: Settings | None = field(default=None, init=False)

    def now(self) -> datetime:
        """The current time for a command: the injected clock (tests pass a fixed one)."""
        return self.clock()

    def settings(self) -> Settings:
        """The loaded settings; raises ConfigError listing every problem."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def store(self) -> Store:
        return Store.open(self.settings().database_url)

    def client(self) -> GuardedClient:
        return GuardedClient(client_config(self.settings()))


__all__ = ["App", "ConfigError", "client_config"]
