"""The OpenAPI 3.1 document of the JSON API (monitor/web/api.py), served at
/api/v1/openapi.json.

Written by hand as data, with the enumerations taken from the code (categories, statuses, event
kinds), and strict: every object lists all its properties as required and allows no others, so a
field added to or dropped from an answer without this document fails tests/test_api.py, which
validates every response the tests receive against the schemas here.
"""

from __future__ import annotations

from typing import Any

from monitor.models import CATEGORIES
from monitor.store.inbox import MAX_PAGE, SEARCH_MAX
from monitor.triage import EventKind, Status

VERSION = "1.0.0"
ERROR_CODES = (
    "invalid_parameter",
    "invalid_cursor",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "rate_limited",
)


def _obj(props: dict[str, Any], description: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }
    if description:
        doc["description"] = description
    return doc


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


_TIME = {"type": "string", "format": "date-time"}
_STR = {"type": "string"}
_ID = {"type": "integer", "minimum": 1}
_SEVERITY = {
    "description": "urgent or digest; null while the mention is not scored yet",
    "enum": ["urgent", "digest", None],
}
_CATEGORY_LIST = {"type": "array", "items": {"enum": list(CATEGORIES)}}
_STATUS = {"enum": [s.value for s in Status]}


def _schemas() -> dict[str, Any]:
    return {
        "Error": _obj(
            {
                "error": _obj(
                    {
                        "code": {"enum": list(ERROR_CODES)},
                        "message": {"type": "string", "description": "one line for a person"},
                    }
                )
            }
        ),
        "StatusCounts": _obj({s.value: {"type": "integer", "minimum": 0} for s in Status}),
        "MentionSummary": _obj(
            {
                "id": _ID,
                "academy": _STR,
                "title": {"type": "string", "description": "redacted, at most 160 characters"},
                "source": {"type": "string", "description": "the source key: academy/name"},
                "first_seen": _TIME,
                "published": _null(_TIME),
                "severity": _SEVERITY,
                "categories": _CATEGORY_LIST,
                "status": _STATUS,
                "owner": _null({"type": "string", "description": "the staff member's email"}),
                "muted": {"type": "boolean", "description": "its author or thread is muted"},
                "cluster_size": {"type": "integer", "minimum": 1},
                "dashboard_url": {"type": "string", "description": "the mention's page"},
            }
        ),
        "MentionList": _obj(
            {
                "mentions": {"type": "array", "items": _ref("MentionSummary")},
                "next_cursor": _null(
                    {"type": "string", "description": "pass as `cursor` for the next page"}
                ),
                "counts": _ref("StatusCounts"),
                "total": {"type": "integer", "minimum": 0},
            },
            "One page, urgent first, then newest first. `counts` and `total` cover the filters "
            "(the status filter aside), not just this page.",
        ),
        "Found": _obj({"category": {"enum": list(CATEGORIES)}, "label": _STR}),
        "TimelineItem": _obj(
            {"at": _TIME, "kind": {"enum": [k.value for k in EventKind]}},
            "What was done, when (notes and who did it are on the dashboard only).",
        ),
        "MentionDetail": _obj(
            {
                "id": _ID,
                "academy": _STR,
                "source": _STR,
                "url": _null({"type": "string", "description": "the post; http(s) only"}),
                "title": {"type": "string", "description": "redacted, at most 160 characters"},
                "excerpt": {
                    "type": "string",
                    "description": "redacted, at most 300 characters (never the full text)",
                },
                "first_seen": _TIME,
                "published": _null(_TIME),
                "severity": _SEVERITY,
                "categories": {
                    **_CATEGORY_LIST,
                    "description": "as corrected by a person, where one did",
                },
                "scored_categories": {**_CATEGORY_LIST, "description": "as the scorer said"},
                "found": {"type": "array", "items": _ref("Found")},
                "reason": _null({"type": "string", "description": "the scorer's one-line reason"}),
                "evidence": {
                    "type": "array",
                    "items": _STR,
                    "description": "redacted phrases that drove the categories, then kinds of "
                    "personal data seen in words ('it contains a phone number')",
                },
                "status": _STATUS,
                "owner": _null(_STR),
                "muted": {"type": "boolean"},
                "copies": {
                    "type": "array",
                    "items": _ID,
                    "description": "ids of the other mentions of the same story",
                },
                "timeline": {"type": "array", "items": _ref("TimelineItem")},
                "dashboard_url": _STR,
            }
        ),
        "Incident": _obj(
            {
                "id": {"type": "string", "description": "e.g. INC-20261128-3F9A1C"},
                "academy": _STR,
                "mention_id": _null(_ID),
                "categories": _CATEGORY_LIST,
                "first_seen": {**_TIME, "description": "the 72-hour clock starts here"},
                "deadline": {**_TIME, "description": "first_seen + 72 hours"},
                "remaining_seconds": {
                    "type": "integer",
                    "description": "until the deadline, negative once past it",
                },
                "overdue": {"type": "boolean", "description": "past the deadline, undecided"},
                "decision": {"enum": ["undecided", "report_to_ico", "not_reported"]},
                "decided_at": _null(_TIME),
                "decisions": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "how many decisions were recorded (the latest is in force)",
                },
            }
        ),
        "IncidentList": _obj({"incidents": {"type": "array", "items": _ref("Incident")}}),
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


_RESPONSES = {
    "BadRequest": _error(
        "A parameter or the cursor is not valid (`invalid_parameter`, `invalid_cursor`)."
    ),
    "Unauthorized": {
        **_error("No token, or an unknown or revoked one. `WWW-Authenticate: Bearer` is sent."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "Forbidden": _error("The token's roles do not allow this."),
    "NotFound": _error(
        "No such mention, or one of an academy the token may not read (the same answer)."
    ),
    "MethodNotAllowed": {
        **_error("The API is read-only: only GET and HEAD."),
        "headers": {"Allow": {"schema": {"type": "string"}}},
    },
    "RateLimited": {
        **_error("Too many requests with this token; wait `Retry-After` seconds."),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_TIME_PARAM = {"type": "string", "description": "ISO 8601 date-time with zone, or a date (UTC)"}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _errors(*names: str) -> dict[str, Any]:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "MethodNotAllowed": "405",
        "RateLimited": "429",
    }
    return {codes[n]: {"$ref": f"#/components/responses/{n}"} for n in names}


def openapi() -> dict[str, Any]:
    """The document (a fresh dict each call)."""
    mention_params = [
        _param("academy", "Only this academy (one of the token's).", _STR),
        _param("category", "Only mentions in this category.", {"enum": list(CATEGORIES)}),
        _param("urgent", "true: only urgent mentions.", {"type": "boolean"}),
        _param("status", "Only mentions with this triage status.", _STATUS),
        _param("source", "Only this source key (academy/name).", _STR),
        _param("since", "First seen at or after this time.", _TIME_PARAM),
        _param("until", "First seen before this time.", _TIME_PARAM),
        _param(
            "q",
            "Text search in the title and stored text (head, dsl and dpo only: it matches the "
            "full text, which other roles may not see).",
            {"type": "string", "maxLength": SEARCH_MAX},
        ),
        _param(
            "limit",
            "Mentions per page.",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
        ),
        _param("cursor", "`next_cursor` of the previous page.", _STR),
    ]
    common = {"security": [{"token": []}], "tags": ["read"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mention-monitor",
            "version": VERSION,
            "description": "Read-only access to the mentions and incidents a user's roles allow. "
            "Personal API tokens (`mention-monitor users token create EMAIL --name N`) go in "
            "`Authorization: Bearer <token>`; cookies are not accepted. Texts are redacted as "
            "the emails redact them: the full text is never served (on the dashboard, showing "
            "it is an audited action). Every answer is `Cache-Control: no-store`. "
            "HEAD is answered wherever GET is; any other method gets 405.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/mentions": {
                "get": {
                    **common,
                    "operationId": "listMentions",
                    "summary": "The mentions of the token's academies, urgent and newest first",
                    "description": "Cursor pages: pass `next_cursor` back as `cursor` until it is "
                    "null. Mentions that arrive meanwhile neither repeat nor push a mention out "
                    "of the next page. Every role on an academy may read its mentions.",
                    "parameters": mention_params,
                    "responses": {
                        "200": _ok("MentionList", "One page of mentions."),
                        **_errors(
                            "BadRequest",
                            "Unauthorized",
                            "Forbidden",
                            "MethodNotAllowed",
                            "RateLimited",
                        ),
                    },
                }
            },
            "/api/v1/mentions/{mention_id}": {
                "get": {
                    **common,
                    "operationId": "getMention",
                    "summary": "One mention, redacted, with its assessment, status and timeline",
                    "parameters": [
                        {
                            "name": "mention_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {
                        "200": _ok("MentionDetail", "The mention."),
                        **_errors(
                            "BadRequest",
                            "Unauthorized",
                            "NotFound",
                            "MethodNotAllowed",
                            "RateLimited",
                        ),
                    },
                }
            },
            "/api/v1/incidents": {
                "get": {
                    **common,
                    "operationId": "listIncidents",
                    "summary": "Possible personal-data breaches with their 72-hour clock",
                    "description": "Incidents of the academies where the token's user is head, "
                    'dsl or dpo (a dpo on "*": every academy), newest first, with the '
                    "decision in force. Other roles get 403. The DPO's reasoning and the "
                    "people told are in `mention-monitor breaches export`, not here.",
                    "parameters": [
                        _param("academy", "Only this academy.", _STR),
                        _param("since", "Opened at or after this time.", _TIME_PARAM),
                    ],
                    "responses": {
                        "200": _ok("IncidentList", "The incidents."),
                        **_errors(
                            "BadRequest",
                            "Unauthorized",
                            "Forbidden",
                            "MethodNotAllowed",
                            "RateLimited",
                        ),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document (public: it holds no data)",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors("MethodNotAllowed"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (`users token create`).",
                }
            },
            "schemas": _schemas(),
            "responses": _RESPONSES,
        },
    }


__all__ = ["ERROR_CODES", "openapi"]
