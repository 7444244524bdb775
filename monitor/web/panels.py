"""Sections of the mention page that other parts of the workspace contribute.

The mention page (monitor/web/pages.py) renders its own header, text and assessment, then each
panel in order: triage, removal requests, evidence, and so on. A panel is a function of the
request, the signed-in viewer and the mention (with its assessment) that returns the template to
include and its variables, or None to show nothing (for example, to a role that may not act).
Panels run in the page's worker thread, so they may read the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from monitor.models import Assessment, Mention
from monitor.roles import Viewer


@dataclass(frozen=True)
class Section:
    """One rendered part of the mention page: `template` is included with `ctx` as `p`."""

    template: str
    ctx: Mapping[str, Any] = field(default_factory=dict)


Panel = Callable[[Request, Viewer, Mention, Assessment | None], Section | None]
