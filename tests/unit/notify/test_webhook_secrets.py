"""Webhook secrets in a routing: their forms, the rules of a rotation (422s that name the field), which secrets
sign which destination, what a PUT that leaves them out keeps, and the service's own pair."""

import base64
import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.notify.alert import Recipient
from services.notify.routing import ClinicRouting
from services.notify.settings import NotifySettings
from services.notify.webhook_secrets import STORED, rotation_problem, secret_problem, signing_key

PLAIN = "clinic-secret-0123456789abcdef"


def whsec(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()


def problems(document: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as refused:
        ClinicRouting.model_validate(document)
    return [(tuple(error["loc"]), error["msg"]) for error in refused.value.errors()]


def test_a_whsec_secret_is_standard_padded_base64_of_24_to_64_bytes() -> None:
    key = secrets.token_bytes(32)
    assert signing_key("whsec_" + base64.b64encode(key).decode()) == key
    for good in (whsec(24), whsec(64)):
        assert secret_problem(good) is None
    url_safe = (
        "whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode()
    )  # '-' and '_': another key elsewhere
    unpadded = whsec(32).rstrip("=")
    for bad in (whsec(23), whsec(65), url_safe, unpadded, "whsec_not base64 at all!!", "whsec_"):
        assert "whsec_ followed by the standard base64" in (secret_problem(bad) or ""), bad


def test_a_plain_secret_keeps_working_and_signs_with_its_utf8_bytes() -> None:
    assert secret_problem(PLAIN) is None
    assert signing_key(PLAIN) == PLAIN.encode()
    assert "16 to 256 characters" in (secret_problem("too-short") or "")


def test_a_rotation_is_at_most_two_distinct_secrets_the_newest_a_whsec_one() -> None:
    newest = whsec()
    assert rotation_problem([]) is None
    assert rotation_problem([newest]) is None
    assert rotation_problem([newest, PLAIN]) is None  # moving off a plain secret
    assert "at most 2" in (rotation_problem([newest, whsec(), whsec()]) or "")
    assert "twice" in (rotation_problem([newest, newest]) or "")
    assert "newest secret (the first) must be a whsec_" in (rotation_problem([PLAIN, newest]) or "")


def test_bad_secrets_are_refused_naming_the_field() -> None:
    newest = whsec()
    assert problems({"webhook_secrets": ["whsec_short"]})[0][0] == ("webhook_secrets", 0)
    assert problems({"webhook_secrets": [PLAIN]})[0][0] == ("webhook_secrets",)
    assert problems({"webhook_secrets": [newest, whsec(), whsec()]})[0][0] == ("webhook_secrets",)
    assert problems({"webhook_secret": "short"})[0][0] == ("webhook_secret",)
    [(where, why)] = problems({"webhook_secret": PLAIN, "webhook_secrets": [newest]})
    assert where == () and "webhook_secrets or the deprecated webhook_secret" in why
    therapist = {"therapist_id": "t-1", "email": "t1@clinic.example", "webhook_secrets": [newest]}
    [(where, why)] = problems({"therapists": [therapist]})
    assert where == ("therapists", 0) and "webhook_secrets sign webhooks: give a webhook_url" in why
    page = {"webhook_url": "https://ehr.example/pages", "webhook_secrets": ["whsec_AAAA"]}
    assert problems({"client_page": page})[0][0] == ("client_page", "webhook_secrets", 0)


def test_a_stored_routing_loads_as_it_was_accepted() -> None:
    # Before whsec_ secrets existed any string of 16-256 characters was taken, this one too.
    stored = {"webhook_secret": "whsec_was-a-plain-one", "therapists": []}
    assert problems(stored)[0][0] == ("webhook_secret",)
    routing = ClinicRouting.model_validate(stored, context=STORED)
    assert routing.clinic_secrets == ["whsec_was-a-plain-one"]
    assert signing_key("whsec_was-a-plain-one") == b"whsec_was-a-plain-one"


def recipient(kind: str, recipient_id: str) -> Recipient:
    return Recipient(kind, recipient_id, "webhook", "https://hooks.example")  # type: ignore[arg-type]


def test_each_destination_is_signed_by_its_own_secrets_else_the_clinics() -> None:
    own, clinic, page = [whsec(), whsec()], [whsec()], [whsec()]
    routing = ClinicRouting.model_validate(
        {
            "therapists": [
                {"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1", "webhook_secrets": own},
                {"therapist_id": "t-2", "webhook_url": "https://hooks.example/t2", "webhook_secrets": []},
            ],
            "supervisors": [{"supervisor_id": "t-1", "webhook_url": "https://hooks.example/s1"}],
            "webhook_secrets": clinic,
            "client_page": {"webhook_url": "https://ehr.example/pages", "webhook_secrets": page},
        }
    )
    assert routing.secrets_for(recipient("therapist", "t-1")) == own
    assert routing.secrets_for(recipient("therapist", "t-2")) == clinic  # [] : none of its own
    assert routing.secrets_for(recipient("supervisor", "t-1")) == clinic  # the same id, another route
    assert routing.secrets_for(recipient("therapist", "gone")) == clinic
    assert routing.client_page_secrets() == page
    bare = ClinicRouting.model_validate({"client_page": {"webhook_url": "https://ehr.example/pages"}})
    assert bare.client_page_secrets() == [] and bare.secrets_for(recipient("supervisor", "s")) == []


def test_the_deprecated_single_secret_is_the_clinics_one() -> None:
    assert ClinicRouting.model_validate({"webhook_secret": PLAIN}).clinic_secrets == [PLAIN]
    assert ClinicRouting().clinic_secrets == []


def test_a_put_keeps_the_secrets_it_leaves_out_destination_by_destination() -> None:
    t1, sup, clinic, page = [whsec()], [whsec()], [whsec(), PLAIN], [whsec()]
    stored = ClinicRouting.model_validate(
        {
            "therapists": [
                {"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1", "webhook_secrets": t1},
                {
                    "therapist_id": "t-2",
                    "webhook_url": "https://hooks.example/t2",
                    "webhook_secrets": [whsec()],
                },
            ],
            "supervisors": [
                {"supervisor_id": "s-1", "webhook_url": "https://hooks.example/s1", "webhook_secrets": sup}
            ],
            "webhook_secrets": clinic,
            "client_page": {"webhook_url": "https://ehr.example/pages", "webhook_secrets": page},
        }
    )
    # As a client that read the routing (no secrets in it) and puts it back changed.
    put = ClinicRouting.model_validate(
        {
            "therapists": [
                {"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1-new"},
                {"therapist_id": "t-3", "webhook_url": "https://hooks.example/t3"},
            ],
            "supervisors": [
                {"supervisor_id": "s-1", "webhook_url": "https://hooks.example/s1", "webhook_secrets": []}
            ],
            "client_page": {"webhook_url": "https://ehr.example/pages", "days": 7},
        }
    )
    kept = put.keeping_secrets(stored)

    assert [(r.therapist_id, r.webhook_secrets) for r in kept.therapists] == [("t-1", t1), ("t-3", None)]
    assert kept.supervisors[0].webhook_secrets == []  # [] cleared it: the clinic's sign again
    assert kept.webhook_secrets == clinic and kept.webhook_secret is None
    assert kept.client_page is not None and kept.client_page.webhook_secrets == page
    assert kept.client_page.days == 7
    newest = [whsec()]
    replaced = ClinicRouting.model_validate({"webhook_secrets": newest}).keeping_secrets(stored)
    assert replaced.clinic_secrets == newest
    cleared = ClinicRouting.model_validate({"webhook_secrets": []}).keeping_secrets(stored)
    assert cleared.clinic_secrets == []
    legacy = ClinicRouting.model_validate({"webhook_secret": PLAIN}).keeping_secrets(stored)
    assert legacy.clinic_secrets == [PLAIN]


def test_a_stored_plain_clinic_secret_is_kept_by_a_put_without_one() -> None:
    stored = ClinicRouting.model_validate({"webhook_secret": PLAIN}, context=STORED)
    kept = ClinicRouting(timezone="Europe/Berlin").keeping_secrets(stored)
    assert kept.clinic_secrets == [PLAIN] and kept.timezone == "Europe/Berlin"


def settings(**env: str) -> NotifySettings:
    return NotifySettings.model_validate(env)


def test_the_services_secret_may_stay_plain_and_rotates_to_a_whsec_one() -> None:
    assert settings().default_webhook_secrets == ["dev-webhook-secret-change-me"]
    newest = whsec()
    rotating = settings(NOTIFY_WEBHOOK_SECRET=newest, NOTIFY_WEBHOOK_PREVIOUS_SECRET=PLAIN)
    assert rotating.default_webhook_secrets == [newest, PLAIN]
    with pytest.raises(ValidationError, match="NOTIFY_WEBHOOK_PREVIOUS_SECRET: the newest secret"):
        settings(NOTIFY_WEBHOOK_SECRET=PLAIN, NOTIFY_WEBHOOK_PREVIOUS_SECRET=whsec())
    with pytest.raises(ValidationError, match="whsec_ followed by the standard base64"):
        settings(NOTIFY_WEBHOOK_SECRET="whsec_not-base64")
