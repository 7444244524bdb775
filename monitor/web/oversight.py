"""The oversight pages of the workspace, wired in one place: removal tracking on the mention page
(monitor/web/removals.py), the DPO's breach log (monitor/web/breaches.py) and the admin's health
page (monitor/web/admin.py).

`create_app` adds `routes(...)` and passes `panels(store)` to the mention page. `NAV_LINKS` are
the header links these pages want, each with who may see it (base.html shows them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import HTMLResponse
from starlette.routing import Route

from monitor.clock import Clock
from monitor.config import Settings
from monitor.health import Health
from monitor.roles import Viewer
from monitor.store import Store
from monitor.web import admin, breaches, removals
from monitor.web.panels import Panel


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    shown: Callable[[Settings, Viewer], bool]  # whether this viewer sees the link


NAV_LINKS: tuple[NavLink, ...] = (
    NavLink("/breaches", "Breach log", lambda s, v: bool(breaches.dpo_academies(s, v))),
    NavLink("/admin/health", "Health", admin.may_see_health),
)


def nav_links(settings: Settings, viewer: Viewer) -> list[tuple[str, str]]:
    """(path, label) of the header links this viewer may follow."""
    return [(n.path, n.label) for n in NAV_LINKS if n.shown(settings, viewer)]


def panels(store: Store) -> list[Panel]:
    return [removals.panel(store)]


def routes(
    settings: Settings,
    store: Store,
    clock: Clock,
    page: Callable[..., HTMLResponse],
    health: Callable[[], Health],
) -> list[Route]:
    return (
        removals.routes(settings, store, clock, page)
        + breaches.routes(settings, store, clock, page)
        + admin.routes(settings, store, clock, page, health)
    )
