"""Every endpoint of every service, enumerated from its OpenAPI document (so a new endpoint is covered without
touching this file), called on the running processes with: no key, malformed keys, a revoked key, the key of
another clinic and keys of the wrong scope. Plus ids carrying MongoDB operators or control characters.

Expected: 401 / 401 / 401 / (404 for another clinic's resource by id, else only the caller's own data) / 403.
"""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.reliability.conftest import Reliability
from tests.reliability.tenants import SERVICES, Tenants, set_up

# Operations that take no API key, by design: probes, metrics and the signed acknowledgement link.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/acknowledgements/{token}"),
    ("POST", "/v1/acknowledgements/{token}"),
    # FHIR Questionnaires: the published definitions of the forms, nobody's data.
    ("GET", "/fhir/Questionnaire"),
    ("GET", "/fhir/Questionnaire/{name}"),
}
MALFORMED = ("Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Bearer not-a-key-of-anyone", "bearer\tx", "Token abc")
# Another clinic's key on a resource of clinic A named in the path: exactly 404, as for an unknown id.
CROSS_CLINIC_NOT_FOUND = {
    ("scoring", "GET", "/v1/clients/{client_id}/alliance"),
    ("scoring", "POST", "/v1/ruptures/{rupture_id}/resolve"),
    ("notify", "POST", "/v1/ruptures/{rupture_id}/acknowledge"),
}
# Routing is per clinic and therapist ids are the clinic's own pseudonyms: clinic B may route "its" t-1.
# What must hold is that B's calls leave clinic A's routing as it was.
ROUTING_PROBE = "t-sec-routing-probe"
# Bodies that pass validation, so a refusal can only come from the key.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/ruptures/{rupture_id}/resolve"): {
        "note": "reviewed in supervision",
        "resolved_by": "t-sec",
    },
    ("POST", "/v1/ruptures/{rupture_id}/acknowledge"): {"acknowledged_by": "t-sec"},
    ("PUT", "/v1/routing/therapists/{therapist_id}"): {"email": "someone@clinic-b.example"},
}
BAD_IDS = ("$where", "$gt", '{"$ne":null}', "a\x00b", "a\nb", "tab\there", "a b", "ü-nicode", "x" * 65)


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    secured: bool
    path_params: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def operations_of(service: str, document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            params = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "path")
            found.append(Operation(service, method.upper(), path, bool(operation.get("security")), params))
    return found


@pytest.fixture(scope="module")
async def tenants(reliability: Reliability) -> Tenants:
    return await set_up(reliability)


@pytest.fixture(scope="module")
async def operations(reliability: Reliability) -> list[Operation]:
    found: list[Operation] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for service in SERVICES:
            answer = await http.get(reliability.platform.url(service) + "/openapi.json")
            answer.raise_for_status()
            found += operations_of(service, answer.json())
    return found


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


def url(reliability: Reliability, tenants: Tenants, operation: Operation, **override: str) -> str:
    values = {
        "client_id": tenants.client_id,
        "therapist_id": tenants.therapist_id,
        "rupture_id": tenants.rupture_id,
    }
    path = operation.path
    for name in operation.path_params:
        path = path.replace("{" + name + "}", quote(override.get(name, values.get(name, "x-1")), safe=""))
    return reliability.platform.url(operation.service) + path


async def call(
    http: httpx.AsyncClient,
    reliability: Reliability,
    tenants: Tenants,
    operation: Operation,
    authorization: str | None,
    **override: str,
) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = BODIES.get((operation.method, operation.path), {})
    content = None if operation.method in ("GET", "DELETE") else json.dumps(body)
    if content is not None:
        headers["Content-Type"] = "application/json"
    return await http.request(
        operation.method, url(reliability, tenants, operation, **override), headers=headers, content=content
    )


def bearer(key: str) -> str:
    return f"Bearer {key}"


async def test_only_the_known_public_operations_take_no_key(operations: list[Operation]) -> None:
    public = {(o.method, o.path) for o in operations if not o.secured}
    assert public <= PUBLIC, f"operations without an API key that nobody reviewed: {public - PUBLIC}"
    assert len([o for o in operations if o.secured]) >= 15, operations


async def test_every_secured_operation_refuses_missing_malformed_revoked_and_wrong_scope_keys(
    http: httpx.AsyncClient, reliability: Reliability, tenants: Tenants, operations: list[Operation]
) -> None:
    keys = reliability.platform.keys[tenants.a]
    by_scope = {"ingest": keys.ingest, "read": keys.read, "admin": keys.admin}
    failures: list[str] = []
    checked = 0
    for operation in (o for o in operations if o.secured):
        for authorization in (None, *MALFORMED, bearer(tenants.revoked_key)):
            answer = await call(http, reliability, tenants, operation, authorization)
            if answer.status_code != 401:
                failures.append(
                    f"{operation.label} with {authorization!r:.40}: {answer.status_code}, expected 401"
                )
        accepted: list[str] = []
        refused: list[str] = []
        for scope, key in by_scope.items():
            status = (await call(http, reliability, tenants, operation, bearer(key))).status_code
            (refused if status == 403 else accepted).append(scope)
            if status == 401:
                failures.append(f"{operation.label}: valid {scope} key answered 401")
        if not accepted or not refused:
            failures.append(
                f"{operation.label}: accepted {accepted}, refused {refused}: every operation needs a scope"
            )
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 15


async def test_another_clinics_key_never_reaches_clinic_a(
    http: httpx.AsyncClient, reliability: Reliability, tenants: Tenants, operations: list[Operation]
) -> None:
    b_keys = reliability.platform.keys[tenants.b]
    a_ids = [tenants.a, *tenants.all_client_ids, tenants.rupture_id]
    a_admin = {"Authorization": bearer(reliability.platform.keys[tenants.a].admin)}
    routing_url = f"{reliability.platform.url('notify')}/v1/routing"
    probe = await http.put(
        f"{routing_url}/therapists/{ROUTING_PROBE}", json={"email": "a@clinic-a.example"}, headers=a_admin
    )
    assert probe.status_code == 200, probe.text
    a_routing = (await http.get(routing_url, headers=a_admin)).json()
    failures: list[str] = []
    for operation in (o for o in operations if o.secured):
        for key in (b_keys.ingest, b_keys.read, b_keys.admin):
            answer = await call(http, reliability, tenants, operation, bearer(key))
            if answer.status_code == 403:
                continue  # this scope is refused anyway (the matrix above pins it)
            if (operation.service, operation.method, operation.path) in CROSS_CLINIC_NOT_FOUND:
                if answer.status_code != 404:
                    failures.append(
                        f"{operation.label} with clinic B's key: {answer.status_code}, expected 404"
                    )
                continue
            leaked = [value for value in a_ids if value in answer.text]
            if answer.status_code in (401, 500) or answer.status_code >= 500 or leaked:
                failures.append(
                    f"{operation.label} with clinic B's key: {answer.status_code}, leaked {leaked}"
                )
    assert not failures, "\n".join(failures)
    assert (await http.get(routing_url, headers=a_admin)).json() == a_routing
    # Clinic A's own key does see its client: the 404s above are about the tenant, not a missing id.
    own = await http.get(
        f"{reliability.platform.url('scoring')}/v1/clients/{tenants.client_id}/alliance",
        headers={"Authorization": bearer(reliability.platform.keys[tenants.a].read)},
    )
    assert own.status_code == 200 and own.json()["client_id"] == tenants.client_id


async def test_ids_with_mongodb_operators_or_control_characters_are_refused(
    http: httpx.AsyncClient, reliability: Reliability, tenants: Tenants, operations: list[Operation]
) -> None:
    keys = reliability.platform.keys[tenants.a]
    failures: list[str] = []
    checked = 0
    for operation in (o for o in operations if o.secured):
        for name in (p for p in operation.path_params if p.endswith("_id")):
            key = keys.ingest
            for candidate in (keys.read, keys.admin, keys.ingest):
                if (await call(http, reliability, tenants, operation, bearer(candidate))).status_code != 403:
                    key = candidate
                    break
            for bad in BAD_IDS:
                answer = await call(http, reliability, tenants, operation, bearer(key), **{name: bad})
                checked += 1
                if answer.status_code != 422:
                    failures.append(f"{operation.label} {name}={bad!r}: {answer.status_code}, expected 422")
    # Ids in bodies too: the intake refuses them before anything is stored.
    session = {
        "session_id": "s-1",
        "therapist_id": "t-1",
        "client_id": "c-1",
        "occurred_at": "2026-05-04T10:00:00+00:00",
        "attendance": "attended",
        "scheduled_minutes": 50,
    }
    for field in ("session_id", "therapist_id", "client_id"):
        for bad in BAD_IDS:
            answer = await http.post(
                reliability.platform.url("feedback") + "/v1/sessions",
                json={**session, field: bad},
                headers={"Authorization": bearer(keys.ingest), "Idempotency-Key": f"inj-{uuid.uuid4().hex}"},
            )
            checked += 1
            if answer.status_code != 422:
                failures.append(f"POST /v1/sessions {field}={bad!r}: {answer.status_code}, expected 422")
    assert not failures, "\n".join(failures)
    assert checked >= 60
