"""The read-only JSON API through the real app (create_app, Starlette's TestClient) on a real SQLite
store: token auth (unknown, revoked, removed user, cookies refused), role boundaries, cursor pages
while mentions arrive, filters, redaction (no full text, no personal data), incidents, 405, 429.

Every response any test receives goes through `Api.call`, which validates it against the schemas
of the served OpenAPI document (itself checked against the OpenAPI 3.1 specification), so the
document cannot drift from what the API answers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from monitor.breach_log import record_decision
from monitor.config import Settings
from monitor.models import Severity
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.store.users import token_hash
from monitor.triage import AddNote, Assign, SetStatus, Status
from monitor.web import create_app
from monitor.web.api import RATE_PER_TOKEN
from monitor.web.api_doc import openapi
from tests.alerts_support import make_settings, store_mention
from tests.auth_support import add_user, signed_in
from tests.inbox_support import add_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
BASE = "http://testserver"
DOC = openapi()
_REGISTRY = Registry().with_resource("urn:mm-api", Resource(DOC, DRAFT202012))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _template(path: str) -> str:
    return re.sub(r"^/api/v1/mentions/[^/]+$", "/api/v1/mentions/{mention_id}", path)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_against_document(path: str, response: httpx.Response) -> None:
    """The response's body matches the schema the document gives for its path and status."""
    tpl = _template(path)
    if tpl not in DOC["paths"]:  # not an endpoint: the JSON 404 every other /api/ path gets
        assert response.status_code in (404, 405)
        _validate("components", "schemas", "Error", body=response.json())
        return
    responses = DOC["paths"][tpl]["get"]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{path}: status {status} is not documented"
    where = ("paths", tpl, "get", "responses", status)
    documented = responses[status]
    if "$ref" in documented:
        name = documented["$ref"].rsplit("/", 1)[-1]
        where = ("components", "responses", name)
        documented = DOC["components"]["responses"][name]
        for header in documented.get("headers", {}):
            assert header in response.headers, f"{path}: {status} without {header}"
    assert response.headers["content-type"].startswith("application/json")
    _validate(*where, "content", "application/json", "schema", body=response.json())


def _validate(*where: str, body: Any) -> None:
    """Validate `body` against the schema at this place in the document (its $refs resolved
    within the document)."""
    validator = Draft202012Validator(
        {"$ref": "urn:mm-api#/" + _pointer(*where)},
        registry=_REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(body)


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def call(
        self,
        path: str,
        token: str | None = None,
        *,
        method: str = "GET",
        authorization: str | None = None,
        **params: Any,
    ) -> httpx.Response:
        if token:
            authorization = f"Bearer {token}"
        headers = {"Authorization": authorization} if authorization else {}
        r = self.client.request(method, path, params=params, headers=headers)
        assert r.headers["cache-control"] == "no-store"
        if method != "HEAD":
            check_against_document(path, r)
        return r

    def pages(self, token: str, **params: Any) -> list[int]:
        """Every mention id, page by page."""
        out: list[int] = []
        cursor = None
        while True:
            body = self.call(
                "/api/v1/mentions", token, **params, **({"cursor": cursor} if cursor else {})
            ).json()
            out += [m["id"] for m in body["mentions"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return out


@dataclass
class Env:
    settings: Settings
    store: Store
    api: Api
    clock: Clock


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": BASE},
        academies=[
            {"id": "ankermoor", "display_name": "Ankermoor", "names": ["Ankermoor"]},
            {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
        ],
    )
    store = Store.open(settings.database_url)
    clock = Clock()
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], clock(), scheduler_alive=True),
        clock=clock,
    )
    try:
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            yield Env(settings, store, Api(client), clock)
    finally:
        store.close()


def new_token(store: Store, email: str, academy: str, role: Role, name: str = "reporting") -> str:
    """A user with this role and a personal token for them, made as `users token create` does."""
    user_id = add_user(store, email, academy, role, T0)
    raw = "mm_" + secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.add_api_token(user_id, token_hash(raw), name, T0)
    return raw


def _error(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def test_the_document_is_valid_openapi_31_and_public(env: Env) -> None:
    api = env.api
    r = api.call("/api/v1/openapi.json")
    assert r.status_code == 200 and r.json() == openapi()
    validate_spec(r.json())
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # every endpoint the app serves is in the document
    assert set(DOC["paths"]) == {
        "/api/v1/mentions",
        "/api/v1/mentions/{mention_id}",
        "/api/v1/incidents",
        "/api/v1/openapi.json",
    }


def test_tokens_unknown_revoked_removed_and_cookies_are_refused(
    env: Env,
) -> None:
    store, api = env.store, env.api
    add_mention(store, T0)
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    assert api.call("/api/v1/mentions", token).status_code == 200

    missing = api.call("/api/v1/mentions")
    assert missing.status_code == 401 and _error(missing) == "unauthorized"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for bad in (token + "x", "mm_" + secrets.token_urlsafe(32)):
        r = api.call("/api/v1/mentions", bad)
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    for scheme in (f"Basic {token}", token, "Bearer", f"Bearer {token} {token}"):
        assert api.call("/api/v1/mentions", authorization=scheme).status_code == 401

    # A signed-in browser session is no way in: the API reads no cookies.
    cookies, _ = signed_in(
        store, env.settings, T0, email="dsl@ankermoor.example.org", role=Role.DSL
    )
    api.client.cookies.update(cookies)
    r = api.call("/api/v1/mentions")
    api.client.cookies.clear()
    assert r.status_code == 401

    with store.transaction() as tx:
        (row,) = [t for t in tx.api_tokens() if t.user_email == "head@ankermoor.example.org"]
        assert row.last_used_at == T0  # use is recorded
        user = tx.user("head@ankermoor.example.org")
        assert user is not None
        assert tx.revoke_api_tokens(user.id, "reporting", T0) == 1
    assert api.call("/api/v1/mentions", token).status_code == 401

    other = new_token(store, "viewer@ankermoor.example.org", "ankermoor", Role.VIEWER)
    assert api.call("/api/v1/mentions", other).status_code == 200
    with store.transaction() as tx:
        tx.remove_user("viewer@ankermoor.example.org")
    assert api.call("/api/v1/mentions", other).status_code == 401


def test_head_of_one_academy_never_sees_another(env: Env) -> None:
    store, api = env.store, env.api
    mine = [add_mention(store, T0 + n * H, academy="ankermoor") for n in range(3)]
    theirs = [add_mention(store, T0 + n * H, academy="brook", source="b") for n in range(3)]
    head = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    dpo = new_token(store, "dpo@trust.example.org", "*", Role.DPO)

    assert sorted(api.pages(head, limit=2)) == mine
    assert api.pages(head, academy="brook") == []
    assert api.call("/api/v1/mentions", head, academy="brook").json()["total"] == 0
    assert sorted(api.pages(dpo)) == sorted(mine + theirs)

    missing = api.call("/api/v1/mentions/999999", head)
    not_mine = api.call(f"/api/v1/mentions/{theirs[0]}", head)
    junk = api.call("/api/v1/mentions/abc", head)
    assert missing.status_code == not_mine.status_code == junk.status_code == 404
    assert missing.content == not_mine.content == junk.content
    assert _error(not_mine) == "not_found"
    assert api.call(f"/api/v1/mentions/{mine[0]}", head).json()["academy"] == "ankermoor"
    assert api.call(f"/api/v1/mentions/{theirs[0]}", dpo).status_code == 200


def test_cursor_pages_neither_repeat_nor_skip_while_mentions_arrive(
    env: Env,
) -> None:
    store, api = env.store, env.api
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    first = [add_mention(store, T0 + n * H) for n in range(5)]
    first.append(add_mention(store, T0, severity=Severity.URGENT))  # urgent: first in order
    first.append(add_mention(store, T0 + 2 * H))  # same first-seen time as another
    first.append(add_mention(store, T0, severity=None))  # not scored: last

    seen: list[int] = []
    body = api.call("/api/v1/mentions", token, limit=3).json()
    seen += [m["id"] for m in body["mentions"]]
    assert seen[0] == first[5] and body["total"] == 8
    # Newer mentions arrive between pages (earlier in the order), and an older one (later).
    add_mention(store, T0 + 10 * H)
    add_mention(store, T0 + 11 * H, severity=Severity.URGENT)
    late = add_mention(store, T0 - 5 * H)
    while body["next_cursor"] is not None:
        body = api.call("/api/v1/mentions", token, limit=3, cursor=body["next_cursor"]).json()
        seen += [m["id"] for m in body["mentions"]]
    assert len(seen) == len(set(seen))  # no repeats
    assert set(first) <= set(seen)  # no gaps
    assert late in seen and seen[-1] == first[7]


def test_filters(env: Env) -> None:
    store, api = env.store, env.api
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    old = add_mention(store, T0 - 48 * H, title="Ankermoor fete", text="Cakes and a raffle.")
    leak = add_mention(
        store, T0, categories=("data_leak",), severity=Severity.URGENT, title="Ankermoor list"
    )
    rude = add_mention(store, T0 + H, categories=("reputation",), source="forum")
    with store.transaction() as tx:
        tx.triage(rude, SetStatus(Status.ACKNOWLEDGED), "head@ankermoor.example.org", T0 + 2 * H)

    def ids(**params: Any) -> list[int]:
        r = api.call("/api/v1/mentions", token, **params)
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["mentions"]]

    assert ids(category="data_leak") == [leak]
    assert ids(urgent="true") == [leak]
    assert sorted(ids(urgent="false")) == sorted([old, leak, rude])
    assert ids(status="acknowledged") == [rude]
    assert ids(source="ankermoor/forum") == [rude]
    assert sorted(ids(since="2026-11-28")) == sorted([leak, rude])
    assert ids(until="2026-11-28T00:00:00Z") == [old]
    assert ids(since="2026-11-28T09:30:00+00:00", until="2026-11-28T11:00:00+00:00") == [rude]
    assert ids(q="RAFFLE") == [old]
    assert ids(academy="ankermoor", category="reputation", status="acknowledged") == [rude]
    counts = api.call("/api/v1/mentions", token, status="new").json()["counts"]
    assert counts == {"new": 2, "acknowledged": 1, "action_taken": 0, "closed": 0}

    bad = {
        "category": "gossip",
        "status": "open",
        "urgent": "maybe",
        "since": "yesterday",
        "until": "2026-11-28T09:00:00",  # no zone
        "limit": "101",
        "q": "x" * 201,
        "colour": "red",
    }
    for name, value in bad.items():
        r = api.call("/api/v1/mentions", token, **{name: value})
        assert r.status_code == 400 and _error(r) == "invalid_parameter", name
    for cursor in ("nonsense", "eyJhIjoxfQ"):
        r = api.call("/api/v1/mentions", token, cursor=cursor)
        assert r.status_code == 400 and _error(r) == "invalid_cursor"
    assert api.call(f"/api/v1/mentions/{old}", token, extra="1").status_code == 400


def test_search_is_only_for_roles_that_may_see_the_full_text(
    env: Env,
) -> None:
    store, api = env.store, env.api
    add_mention(store, T0, text="Call 07700 900123 now")
    viewer = new_token(store, "deputy@ankermoor.example.org", "ankermoor", Role.VIEWER)
    admin = new_token(store, "it@trust.example.org", "*", Role.ADMIN)
    dsl = new_token(store, "dsl@ankermoor.example.org", "ankermoor", Role.DSL)
    for token in (viewer, admin):
        r = api.call("/api/v1/mentions", token, q="900123")
        assert r.status_code == 403 and _error(r) == "forbidden"
        assert api.call("/api/v1/mentions", token).json()["total"] == 1  # the list is theirs
    assert api.call("/api/v1/mentions", dsl, q="900123").json()["total"] == 1


def test_no_full_text_and_no_personal_data_leave(env: Env) -> None:
    store, api = env.store, env.api
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    tail = "UNIQUETAILMARKER"
    m, _ = store_mention(
        store,
        env.settings,
        title="Ankermoor class list, call 07700 900123",
        text="Ring 07700 900123 or write to jo.bloggs@example.com about year 6. "
        + "More words here. " * 40
        + tail,
        categories=["data_leak"],
        urgent=True,
        now=T0,
        author="@jo.bloggs.example",
    )
    copy = add_mention(store, T0 + H, cluster=m.cluster_id)
    with store.transaction() as tx:
        tx.triage(m.id, Assign("dsl@ankermoor.example.org"), "head@ankermoor.example.org", T0)
        tx.triage(m.id, AddNote("Parent jo.bloggs phoned"), "head@ankermoor.example.org", T0)

    detail = api.call(f"/api/v1/mentions/{m.id}", token)
    listing = api.call("/api/v1/mentions", token)
    for body in (detail.text, listing.text):
        for secret in ("900123", "07700", "jo.bloggs", tail):
            assert secret not in body, secret
    doc = detail.json()
    assert len(doc["excerpt"]) <= 300 and doc["excerpt"].startswith("Ring ")
    assert "it contains a phone number" in doc["evidence"]
    assert "it contains an email address" in doc["evidence"]
    assert doc["categories"] == ["data_leak"] and doc["severity"] == "urgent"
    assert doc["owner"] == "dsl@ankermoor.example.org" and doc["copies"] == [copy]
    assert [e["kind"] for e in doc["timeline"]] == ["assigned", "note"]
    assert doc["dashboard_url"] == f"{BASE}/mentions/{m.id}"


def test_incidents_with_their_clock_for_head_dsl_and_dpo_only(
    env: Env,
) -> None:
    store, api, clock = env.store, env.api, env.clock
    settings = env.settings
    for academy in ("ankermoor", "brook"):
        store_mention(
            store,
            settings,
            title=f"{academy} class list leaked",
            text="the class list with home addresses",
            categories=["data_leak"],
            urgent=True,
            now=T0,
            academy=academy,
            cluster=f"c-{academy}",
        )
    head = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    dpo = new_token(store, "dpo@trust.example.org", "*", Role.DPO)
    viewer = new_token(store, "deputy@ankermoor.example.org", "ankermoor", Role.VIEWER)
    admin = new_token(store, "it@trust.example.org", "*", Role.ADMIN)
    clock.now = T0 + 10 * H

    mine = api.call("/api/v1/incidents", head).json()["incidents"]
    assert [i["academy"] for i in mine] == ["ankermoor"]
    (inc,) = mine
    assert inc["deadline"] == (T0 + 72 * H).isoformat()
    assert inc["remaining_seconds"] == 62 * 3600 and not inc["overdue"]
    assert inc["decision"] == "undecided" and inc["decisions"] == 0
    both = api.call("/api/v1/incidents", dpo).json()["incidents"]
    assert sorted(i["academy"] for i in both) == ["ankermoor", "brook"]
    assert (
        api.call("/api/v1/incidents", dpo, academy="brook").json()["incidents"][0]["academy"]
        == "brook"
    )
    assert api.call("/api/v1/incidents", head, academy="brook").json()["incidents"] == []
    assert api.call("/api/v1/incidents", dpo, since="2026-11-29").json()["incidents"] == []

    record_decision(
        store,
        inc["id"],
        report_to_ico=False,
        reasoning="Removed within the hour; no addresses readable",
        people_told=["Jo Bloggs"],
        timeline=[],
        decided_by="dpo@trust.example.org",
        now=T0 + 11 * H,
    )
    clock.now = T0 + 80 * H
    r = api.call("/api/v1/incidents", head)
    (inc,) = r.json()["incidents"]
    assert inc["decision"] == "not_reported" and inc["decided_at"] == (T0 + 11 * H).isoformat()
    assert inc["remaining_seconds"] == -8 * 3600 and not inc["overdue"]
    assert "Removed within" not in r.text and "Jo Bloggs" not in r.text
    (brook,) = api.call("/api/v1/incidents", dpo, academy="brook").json()["incidents"]
    assert brook["overdue"]
    for token in (viewer, admin):
        refused = api.call("/api/v1/incidents", token)
        assert refused.status_code == 403 and _error(refused) == "forbidden"


def test_only_get_and_head(env: Env) -> None:
    store, api = env.store, env.api
    m = add_mention(store, T0)
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    paths = ["/api/v1/mentions", f"/api/v1/mentions/{m}", "/api/v1/incidents"]
    for path in [*paths, "/api/v1/openapi.json"]:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = api.call(path, token, method=method)
            assert r.status_code == 405 and _error(r) == "method_not_allowed"
            assert r.headers["allow"] == "GET, HEAD"
    for path in paths:
        head = api.call(path, token, method="HEAD")
        assert head.status_code == 200 and head.content == b""
    with store.transaction() as tx:
        assert tx.timeline(m) == []  # nothing changed
    r = api.call("/api/v1/nothing/here", token)
    assert r.status_code == 404 and _error(r) == "not_found"


def test_each_token_is_rate_limited_on_the_app_clock(env: Env) -> None:
    store, api, clock = env.store, env.api, env.clock
    token = new_token(store, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    other = new_token(store, "dsl@ankermoor.example.org", "ankermoor", Role.DSL)
    for _ in range(RATE_PER_TOKEN):
        assert api.call("/api/v1/incidents", token).status_code == 200
    r = api.call("/api/v1/incidents", token)
    assert r.status_code == 429 and _error(r) == "rate_limited"
    assert int(r.headers["retry-after"]) > 0
    assert api.call("/api/v1/incidents", other).status_code == 200
    clock.now = T0 + timedelta(minutes=1)
    assert api.call("/api/v1/incidents", token).status_code == 200
