"""Roles and the signed-in viewer: who may read, act on and reveal which academy's mentions.

Pure: a `Viewer` is built by the store (monitor/store/users.py) from a user's grants and asked by
the web pages. A dpo or admin grant may name the academy "*", meaning every academy of the trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EVERY_ACADEMY = "*"


class Role(StrEnum):
    HEAD = "head"
    DSL = "dsl"
    DPO = "dpo"
    ADMIN = "admin"
    VIEWER = "viewer"


# Roles that may triage, act and reveal full text; admin sees "no mention text by default".
_ACTORS = frozenset({Role.HEAD, Role.DSL, Role.DPO})
# When one user holds several roles on an academy, the strongest is the one that counts.
_RANK = {Role.DPO: 0, Role.HEAD: 1, Role.DSL: 2, Role.ADMIN: 3, Role.VIEWER: 4}
# Only these may hold a grant on every academy.
WILDCARD_ROLES = frozenset({Role.DPO, Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """A signed-in user and their grants: (academy id or "*", role)."""

    user_id: int
    email: str
    grants: tuple[tuple[str, Role], ...]

    def role_for(self, academy_id: str) -> Role | None:
        roles = [
            role
            for academy, role in self.grants
            if academy == academy_id or (academy == EVERY_ACADEMY and role in WILDCARD_ROLES)
        ]
        return min(roles, key=_RANK.__getitem__) if roles else None

    def can_read(self, academy_id: str) -> bool:
        return self.role_for(academy_id) is not None

    def can_act(self, academy_id: str) -> bool:
        return self.role_for(academy_id) in _ACTORS

    def can_reveal(self, academy_id: str) -> bool:
        return self.role_for(academy_id) in _ACTORS

    def is_dpo(self, academy_id: str) -> bool:
        return any(
            role is Role.DPO and academy in (academy_id, EVERY_ACADEMY)
            for academy, role in self.grants
        )

    @property
    def is_admin(self) -> bool:
        return any(role is Role.ADMIN for _, role in self.grants)

    def every_academy(self) -> bool:
        """Whether a grant covers every academy (dpo or admin on "*")."""
        return any(a == EVERY_ACADEMY and r in WILDCARD_ROLES for a, r in self.grants)

    def academies(self) -> tuple[str, ...]:
        """The academies named in the grants, sorted ("*" included when granted)."""
        return tuple(
            sorted({a for a, r in self.grants if a != EVERY_ACADEMY or r in WILDCARD_ROLES})
        )
