"""Legal hold, erasure and retention through the real scoring service (docs/privacy.md).

Refusals change nothing; an erasure removes every scoring document of the client, shreds its data key, keeps
a record with a salted hash only, publishes ``client.erased``; a late event of the client is dropped and
counted; the retention job erases who is past the clinic's policy, except a client under hold.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.lifecycle.erasure import Erasures
from services.scoring.lifecycle.retention import Retention, months_before
from shared.auth import Scope
from shared.contracts import CLIENT_ERASED
from tests.integration.scoring.conftest import Scoring, eventually
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
WORDS = "I came to talk about my mother."


def dropped() -> float:
    return (
        REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "scoring"})
        or 0.0
    )


async def everything(scoring: Scoring, unique: str) -> dict[str, list[Any]]:
    """Every document of the test's database, by collection; of the erasure records only this test's clinics'
    (scoring keeps a record of every erasure it learns of, and other tests erase clients on this broker)."""
    found = {
        name: await scoring.db[name].find().to_list()
        for name in sorted(await scoring.db.list_collection_names())
    }
    if "scoring_erasures" in found:
        found["scoring_erasures"] = [r for r in found["scoring_erasures"] if r["clinic_id"].endswith(unique)]
    return found


def mentioning(documents: dict[str, list[Any]], needle: str) -> list[str]:
    return [name for name, found in documents.items() if needle in repr(found)]


async def test_refusals_change_nothing_and_an_erasure_leaves_only_its_record(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic, other_clinic = f"clinic-{unique}", f"other-{unique}"
    stream, kept = ClientStream(clinic, f"c-gone-{unique}"), ClientStream(clinic, f"c-kept-{unique}")
    admin, reader = scoring.key_for(clinic), scoring.key_for(clinic, Scope.READ)
    stranger = scoring.key_for(other_clinic)
    reason = {"reason": "the client asked for erasure"}

    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async with scoring.running() as http:
        for who in (stream, kept):
            await feed(
                scoring,
                publisher,
                who,
                [who.srs(1, "38"), who.note(1, "Next: the check-in."), who.answer(1, "no", comment=WORDS)],
            )
        # Stored sealed: the words are in no document, and the read API opens them.
        assert mentioning(await everything(scoring, unique), WORDS) == []
        shown = (await http.get(f"/v1/clients/{kept.client_id}/alliance", headers=auth(admin))).json()
        assert shown["notes"][0]["comment"] == WORDS
        before = await everything(scoring, unique)

        async def refused(
            key: str, client_id: str, status: int, body: dict[str, Any] | None = reason
        ) -> None:
            answer = await http.request("DELETE", f"/v1/clients/{client_id}", json=body, headers=auth(key))
            assert answer.status_code == status, answer.text
            assert answer.json()["detail"]

        await refused(reader, stream.client_id, 403)
        await refused(stranger, stream.client_id, 404)  # another clinic's client, as if unknown
        await refused(admin, f"c-nobody-{unique}", 404)
        await refused(admin, stream.client_id, 422, {})  # a reason is required
        assert await everything(scoring, unique) == before
        hold = await http.put(
            f"/v1/clients/{stream.client_id}/hold",
            json={"on": True, "reason": "inquiry"},
            headers=auth(admin),
        )
        assert hold.status_code == 200 and hold.json()["on"] is True
        on_hold = await everything(scoring, unique)
        await refused(admin, stream.client_id, 409)
        assert await everything(scoring, unique) == on_hold
        lifted = await http.put(
            f"/v1/clients/{stream.client_id}/hold", json={"on": False}, headers=auth(admin)
        )
        assert lifted.json() == {
            "client_id": stream.client_id,
            "on": False,
            "reason": None,
            "set_at": None,
            "set_by": None,
        }

        answer = await http.request(
            "DELETE", f"/v1/clients/{stream.client_id}", json=reason, headers=auth(admin)
        )
        assert answer.status_code == 200, answer.text
        erasure = answer.json()
        after = await everything(scoring, unique)
        assert mentioning(after, stream.client_id) == []
        [record] = after["scoring_erasures"]
        assert record["client_hash"] == erasure["client_hash"] and record["reason"] == reason["reason"]
        assert record["by"].startswith("key:") and record["clinic_id"] == clinic
        [published] = await records_matching(
            scoring.bootstrap, CLIENT_ERASED.topic.name, lambda r: r.key == stream.key, expected=1, within=10
        )
        assert CLIENT_ERASED.decode(published.value).id == erasure["erasure_id"]
        # The other client is untouched and still opens.
        again = (await http.get(f"/v1/clients/{kept.client_id}/alliance", headers=auth(admin))).json()
        assert again == shown
        assert (
            await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=auth(admin))
        ).status_code == 404

        # A late event of the erased client is dropped and counted; nothing of the client comes back.
        dropped_before = dropped()
        await publisher.event(stream.srs(2, "30"))
        await publisher.event(kept.srs(2, "37"))

        async def kept_applied() -> bool:
            document = await scoring.client_doc(clinic, kept.client_id)
            return document is not None and len(document["events"]) == 4

        await eventually(kept_applied)
        assert dropped() == dropped_before + 1
        left = await everything(scoring, unique)
        assert mentioning(left, stream.client_id) == []


async def test_retention_erases_who_had_no_session_for_the_clinics_months_except_under_hold(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    old, held, recent = (ClientStream(clinic, f"c-{name}-{unique}") for name in ("old", "held", "recent"))
    async with scoring.running() as http:
        for who in (old, held, recent):
            await feed(scoring, publisher, who, [who.srs(1, "38")])
        admin = {"Authorization": f"Bearer {scoring.key_for(clinic)}"}
        setting = await http.put("/v1/clinic/retention", json={"retention_months": 6}, headers=admin)
        assert setting.status_code == 200 and setting.json()["retention_months"] == 6
        assert (await http.get("/v1/clinic/settings", headers=admin)).json()["retention_months"] == 6
        await http.put(f"/v1/clients/{held.client_id}/hold", json={"on": True}, headers=admin)
        erasures: Erasures = scoring.app.state.erasures
        settings: ClinicSettingsStore = scoring.app.state.scoring.settings
        # The history is 12 weeks old: judged 5 months later, old and held are past 6 months, recent is not.
        await scoring.db["scoring_clients"].update_one(
            {"_id": f"{clinic}:{recent.client_id}"},
            {"$set": {"last_session_at": datetime.now(UTC) + timedelta(days=150)}},
        )
        now = datetime.now(UTC) + timedelta(days=150)
        erased = await Retention(settings, erasures, scoring.db["scoring_clients"]).apply(now)
    assert erased[clinic] == 1
    remaining = await scoring.db["scoring_clients"].distinct("client_id", {"clinic_id": clinic})
    assert sorted(remaining) == sorted([held.client_id, recent.client_id])
    [record] = await scoring.db["scoring_erasures"].find({"clinic_id": clinic}).to_list()
    assert record["by"] == "retention" and "6 months" in record["reason"]
    assert REGISTRY.get_sample_value("alliance_retention_erased_clients_total", {"clinic_id": clinic}) == 1
    assert REGISTRY.get_sample_value("alliance_retention_held_clients_total", {"clinic_id": clinic}) == 1


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    assert months_before(datetime(2026, 3, 31, 9, tzinfo=UTC), 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)
