"""The users and audit commands on a real SQLite file, and the audit log's append-only rule."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy.exc
from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.roles import Role, Viewer
from monitor.store import Store
from monitor.store.audit import AuditEntry
from monitor.store.repository import Tx
from monitor.store.users import token_hash

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CONFIG = """
database_url = "sqlite:///{db}"
[web]
host = "0.0.0.0"
[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor"]
recipients = ["Head@Ankermoor.example.org", "office@ankermoor.example.org"]
"""


def _run(cfg: Path, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--config", str(cfg), *args], obj=lambda: T0)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "m.toml"
    p.write_text(CONFIG.format(db=tmp_path / "mm.db"))
    return p


def test_users_commands_and_their_audit(cfg: Path, tmp_path: Path) -> None:
    out = _run(cfg, "users", "add", "DPO@Trust.example.org", "--role", "dpo", "--academy", "*")
    assert "dpo@trust.example.org: added; dpo on *" in out
    _run(cfg, "users", "import-recipients")
    listing = _run(cfg, "users", "list")
    assert "head@ankermoor.example.org" in listing and "head on ankermoor" in listing
    _run(
        cfg,
        "users",
        "role",
        "head@ankermoor.example.org",
        "--role",
        "dsl",
        "--academy",
        "ankermoor",
    )
    _run(
        cfg,
        "users",
        "role",
        "head@ankermoor.example.org",
        "--role",
        "head",
        "--academy",
        "ankermoor",
        "--revoke",
    )
    bad = CliRunner().invoke(
        cli, ["--config", str(cfg), "users", "add", "x@y.org", "--role", "head", "--academy", "*"]
    )
    assert bad.exit_code == 2 and "only dpo and admin" in bad.output
    bad = CliRunner().invoke(
        cli,
        ["--config", str(cfg), "users", "add", "x@y.org", "--role", "head", "--academy", "nope"],
    )
    assert bad.exit_code == 2 and "unknown academy" in bad.output
    raw = _run(
        cfg, "users", "token", "create", "head@ankermoor.example.org", "--name", "r"
    ).split()[0]
    store = Store.open(f"sqlite:///{tmp_path / 'mm.db'}")
    try:
        with store.transaction() as tx:
            user = tx.user("head@ankermoor.example.org")
            assert user is not None and user.grants == (("ankermoor", Role.DSL),)
            assert tx.api_token_user(token_hash(raw), T0) == user.id
            assert all(raw not in str(t) for t in tx.api_tokens())  # only the hash is kept
        _run(cfg, "users", "token", "revoke", "head@ankermoor.example.org", "--name", "r")
        with store.transaction() as tx:
            assert tx.api_token_user(token_hash(raw), T0) is None
        _run(cfg, "users", "remove", "office@ankermoor.example.org")
        with store.transaction() as tx:
            assert tx.user("office@ankermoor.example.org") is None
        actions = [(r.entry.action, r.entry.target) for r in store.audit_entries()]
    finally:
        store.close()
    assert actions[0] == ("user.add", "dpo@trust.example.org")
    assert ("role.grant", "head@ankermoor.example.org") in actions
    assert ("role.revoke", "head@ankermoor.example.org") in actions
    assert ("token.create", "head@ankermoor.example.org") in actions
    assert ("token.revoke", "head@ankermoor.example.org") in actions
    assert actions[-1] == ("user.remove", "office@ankermoor.example.org")


def test_audit_prints_and_exports_and_the_export_is_audited(cfg: Path, tmp_path: Path) -> None:
    _run(
        cfg,
        "users",
        "add",
        "head@ankermoor.example.org",
        "--role",
        "head",
        "--academy",
        "ankermoor",
    )
    text_out = _run(cfg, "audit")
    assert "user.add" in text_out and "cli:" in text_out
    out = tmp_path / "audit.csv"
    assert "entries written" in _run(cfg, "audit", "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["action"] for r in rows] == ["user.add", "role.grant"]
    doc = json.loads(_run(cfg, "audit", "--format", "json", "--action", "audit"))
    assert [d["action"] for d in doc] == ["audit.export"] and doc[0]["target"] == str(out)
    assert json.loads(_run(cfg, "audit", "--format", "json", "--since", "2027-01-01")) == []


def test_the_audit_log_cannot_be_changed(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        store.audit(AuditEntry(T0, "user:a@b.org", "reveal", "ankermoor", "mention:1"))
        # The store's API offers no way: only append and read.
        for facade in (Tx, Store):
            names = [n for n in dir(facade) if "audit" in n]
            assert sorted(names) == ["audit", "audit_entries"], names
        (row,) = store.audit_entries()
        with pytest.raises(AttributeError):
            row.entry.actor = "someone else"  # type: ignore[misc]
        # And the database refuses it from anyone.
        for sql in ("update audit_log set actor = 'x'", "delete from audit_log"):
            with pytest.raises(sqlalchemy.exc.DatabaseError), store.session() as s:
                s.execute(text(sql))
        assert [r.entry.actor for r in store.audit_entries()] == ["user:a@b.org"]
    finally:
        store.close()


def test_check_config_warns_of_a_public_host_without_https(cfg: Path) -> None:
    out = _run(cfg, "check-config")
    assert "WARNING: web.host is 0.0.0.0" in out and "not https" in out


def test_viewer_roles() -> None:
    v = Viewer(1, "a@b.org", (("ankermoor", Role.VIEWER), ("brook", Role.HEAD), ("*", Role.HEAD)))
    assert v.can_read("ankermoor") and not v.can_act("ankermoor") and not v.can_reveal("ankermoor")
    assert v.can_act("brook") and v.can_reveal("brook") and not v.is_dpo("brook")
    assert not v.can_read("other")  # "*" counts only for dpo and admin
    assert v.academies() == ("ankermoor", "brook") and not v.is_admin
    d = Viewer(2, "d@b.org", (("*", Role.DPO),))
    assert d.role_for("any") is Role.DPO and d.is_dpo("any") and d.every_academy()
    a = Viewer(3, "i@b.org", (("*", Role.ADMIN),))
    assert a.is_admin and a.can_read("x") and not a.can_reveal("x")
