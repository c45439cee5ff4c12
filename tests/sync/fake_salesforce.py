"""A fake Salesforce org speaking the REST upsert-by-External-ID contract (contracts/README.md §5.3) over real HTTP.

``PATCH /services/data/vXX.X/sobjects/{SObject}/{ExternalIdField}/{value}`` with a bearer token: no match creates
(201 ``{"id", "success", "errors", "created": true}``), one match updates (200 with ``created: false``, or 204
without a body when ``legacy_updates`` plays an old API version), several matches answer 300 with the matching
records' URLs and write nothing. ``GET`` on the same path reads the record. Errors are JSON arrays of
``{"message", "errorCode"}``: 401 ``INVALID_SESSION_ID``, 404 for an unknown object or a field that is not an
External ID, 400 ``REQUIRED_FIELD_MISSING`` (a Lead needs LastName and Company, a Contact LastName). Scripted
failures (429 + Retry-After, 5xx, 403 ``REQUEST_LIMIT_EXCEEDED``, malformed bodies) are served before the real
answer; ``after_write`` replies are served after the write happened (a vendor that fails after writing).
``GET …/sobjects/{SObject}/describe`` describes an object: its fields with ``externalId`` (``Leadflow_Id__c`` is
the org's only External ID; ``plain_fields`` lists fields that exist without being one). ``POST
/services/oauth2/token`` is the OAuth 2.0 refresh token flow (form-encoded ``grant_type=refresh_token``,
``client_id``, ``client_secret``, ``refresh_token``): a new access token replaces the old one (``expire()`` plays an
expired session); a wrong refresh token is 400 ``invalid_grant``, a wrong app 400 ``invalid_client_id``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.loopback import LoopbackServer, Received, Reply

TOKEN = "00D5g000004Wxyz!AQ0AQ.fake.access.token"
REFRESH_TOKEN = "5Aep861fake.refresh.token.for.leadflow"
CLIENT_ID = "3MVG9fake.connected.app.consumer.key"
CLIENT_SECRET = "F1A2K3E4consumer5secret"
EXTERNAL_ID = "Leadflow_Id__c"
PREFIXES = {"Lead": "00Q", "Contact": "003"}
REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}
_DESCRIBE = re.compile(r"^/services/data/v[0-9]{2,3}\.[0-9]/sobjects/(?P<sobject>\w+)/describe$")
_PATH = re.compile(
    r"^/services/data/v(?P<version>[0-9]{2,3}\.[0-9])/sobjects/(?P<sobject>\w+)/(?P<field>\w+)/(?P<value>[^/]+)$"
)


def errors(status: int, code: str, message: str, **extra: Any) -> Reply:
    return Reply(status, [{"message": message, "errorCode": code, **extra}])


class FakeSalesforce:
    def __init__(self, token: str = TOKEN) -> None:
        self.server = LoopbackServer(self.answer)
        self.token = token
        self.failures: deque[Reply] = deque()
        self.after_write: deque[Reply] = deque()
        self.legacy_updates = False
        self.refresh_token = REFRESH_TOKEN
        self.renewals = 0
        self.plain_fields = {"Id", "LastName", "FirstName", "Company", "Email", "MobilePhone", "LeadSource"}
        self.records: dict[str, dict[str, Any]] = {}  # Salesforce Id -> {"sobject", "fields"}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def upserts(self) -> list[Received]:
        return [r for r in self.server.received if r.method == "PATCH"]

    def matching(self, sobject: str, field: str, value: str) -> list[str]:
        return [
            rid
            for rid, record in self.records.items()
            if record["sobject"] == sobject and record["fields"].get(field) == value
        ]

    def add(self, sobject: str, fields: dict[str, Any]) -> str:
        """A record made in Salesforce by someone else (a duplicate for the 300 case, say)."""
        rid = f"{PREFIXES.get(sobject, 'a0X')}5g00000{next(self._ids):08d}"
        self.records[rid] = {"sobject": sobject, "fields": dict(fields)}
        return rid

    def expire(self) -> None:
        """The access token in use stops working, as a session that timed out."""
        self.token = f"{TOKEN}.expired"

    def answer(self, request: Received) -> Reply:
        if request.method == "POST" and urlsplit(request.path).path == "/services/oauth2/token":
            return self._renew(parse_qs(request.body.decode()))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.failures:
            return self.failures.popleft()
        parts = urlsplit(request.path)
        if request.method == "GET" and (described := _DESCRIBE.match(parts.path)):
            return self._describe(described["sobject"])
        match = _PATH.match(parts.path)
        if match is None:
            return errors(404, "NOT_FOUND", "The requested resource does not exist")
        sobject, field, value = match["sobject"], match["field"], unquote(match["value"])
        if sobject not in PREFIXES:
            return errors(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        if field != EXTERNAL_ID:
            return errors(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}")
        with self._lock:
            if request.method == "GET":
                return self._read(match["version"], sobject, field, value)
            if request.method == "PATCH":
                reply = self._upsert(match["version"], sobject, field, value, request)
                if reply.status < 300 and self.after_write:
                    return self.after_write.popleft()
                return reply
        return errors(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")

    def _renew(self, form: dict[str, list[str]]) -> Reply:
        def given(name: str) -> str:
            return form.get(name, [""])[0]

        if given("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        if (given("client_id"), given("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return Reply(400, {"error": "invalid_client_id", "error_description": "client identifier invalid"})
        if given("refresh_token") != self.refresh_token:
            return Reply(400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})
        with self._lock:
            self.renewals += 1
            self.token = f"00D5g000004Wxyz!renewed.{self.renewals}"
        return Reply(
            200,
            {
                "access_token": self.token,
                "signature": "f4k3s1gn4tur3=",
                "scope": "refresh_token api",
                "instance_url": self.url,
                "id": "https://login.salesforce.com/id/00D5g000004WxyzEAC/0055g00000AbCdEAAV",
                "token_type": "Bearer",
                "issued_at": "1795478400000",
            },
        )

    def _describe(self, sobject: str) -> Reply:
        if sobject not in PREFIXES:
            return errors(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        fields = [{"name": name, "externalId": False, "unique": False} for name in sorted(self.plain_fields)]
        fields.append({"name": EXTERNAL_ID, "externalId": True, "unique": True})
        return Reply(200, {"name": sobject, "label": sobject, "custom": False, "fields": fields})

    def _read(self, version: str, sobject: str, field: str, value: str) -> Reply:
        found = self.matching(sobject, field, value)
        if not found:
            return errors(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible")
        if len(found) > 1:
            return Reply(300, [f"/services/data/v{version}/sobjects/{sobject}/{rid}" for rid in found])
        url = f"/services/data/v{version}/sobjects/{sobject}/{found[0]}"
        return Reply(200, {"attributes": {"type": sobject, "url": url}, "Id": found[0]})

    def _upsert(self, version: str, sobject: str, field: str, value: str, request: Received) -> Reply:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return errors(400, "JSON_PARSER_ERROR", "The request body is not a JSON object")
        if field in body and body[field] != value:
            return errors(400, "INVALID_FIELD", f"{field} in the body differs from the URL")
        found = self.matching(sobject, field, value)
        if len(found) > 1:
            return Reply(300, [f"/services/data/v{version}/sobjects/{sobject}/{rid}" for rid in found])
        if found:
            self.records[found[0]]["fields"].update(body)
            if self.legacy_updates:
                return Reply(204)
            return Reply(200, {"id": found[0], "success": True, "errors": [], "created": False})
        missing = [name for name in REQUIRED[sobject] if not body.get(name)]
        if missing:
            return errors(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
            )
        rid = self.add(sobject, {**body, field: value})
        return Reply(201, {"id": rid, "success": True, "errors": [], "created": True})
