"""The scoring read API on the real Kafka and MongoDB: what each endpoint answers, clinic isolation, the
audit log, manual resolution and acknowledgements."""

from datetime import UTC, datetime
from typing import Any

import pytest

from shared import topics
from shared.auth import Scope
from shared.contracts import RUPTURE_RESOLVED
from shared.privacy.plumbing import Privacy
from tests.integration.scoring.conftest import Scoring, eventually
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration


def untagged(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without its repair figures per 3RS tag, after checking that no episode was named."""
    rows = summary.pop("repair_by_rupture_type") + summary.pop("repair_by_strategy")
    assert rows and all(row["episodes"] == 0 for row in rows)
    return summary


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def test_alliance_caseload_summary_isolation_and_audit(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic, other = f"clinic-{unique}", f"other-{unique}"
    repaired = ClientStream(clinic, f"r-{unique}", therapist_id="t-1")
    dipping = ClientStream(clinic, f"d-{unique}", therapist_id="t-1")
    key, other_key = scoring.key_for(clinic, Scope.READ), scoring.key_for(other, Scope.READ)
    async with scoring.running() as http:
        await feed(
            scoring,
            publisher,
            repaired,
            [repaired.srs(n, t) for n, t in enumerate(["38", "38", "29", "37.5"], 1)],
        )
        await feed(
            scoring, publisher, dipping, [dipping.srs(1, "38"), dipping.session(1), dipping.srs(2, "29")]
        )

        alliance = await http.get(f"/v1/clients/{repaired.client_id}/alliance", headers=bearer(key))
        caseload = await http.get("/v1/therapists/t-1/caseload", headers=bearer(key))
        summary = await http.get("/v1/clinic/summary", headers=bearer(key))
        foreign = await http.get(f"/v1/clients/{repaired.client_id}/alliance", headers=bearer(other_key))
        foreign_caseload = await http.get("/v1/therapists/t-1/caseload", headers=bearer(other_key))
        anonymous = await http.get(f"/v1/clients/{repaired.client_id}/alliance")
        unknown = await http.get(f"/v1/clients/nobody-{unique}/alliance", headers=bearer(key))

    assert alliance.status_code == 200, alliance.text
    body = alliance.json()
    assert [s["srs_total"] for s in body["sessions"]] == [38.0, 38.0, 29.0, 37.5]
    assert body["sessions"][2]["severity"] == "high"
    assert {m["code"] for m in body["sessions"][2]["markers"]} >= {"below_cutoff", "steep_drop"}
    assert body["sessions"][3]["ratings"][0]["items"] == {
        "relationship": 9.4,
        "goals": 9.4,
        "approach": 9.4,
        "overall": 9.3,
    }
    assert body["open_episode"] is None
    [past] = body["past_episodes"]
    assert (past["resolution"]["how"], past["resolution"]["sessions_to_repair"], past["therapist_id"]) == (
        "repaired",
        1,
        "t-1",
    )
    assert body["summary"]["latest_srs_total"] == 37.5 and body["summary"]["repaired_count"] == 1
    assert "comment" not in alliance.text and "private words" not in alliance.text

    assert caseload.status_code == 200
    entries = {entry["client_id"]: entry for entry in caseload.json()["clients"]}
    assert set(entries) == {repaired.client_id, dipping.client_id}
    assert entries[dipping.client_id]["open_episode"]["severity"] == "high"
    assert (
        entries[dipping.client_id]["latest_srs_total"] == 29.0 and entries[dipping.client_id]["trend"] == -9.0
    )

    # Both alerts were about sessions weeks older than the push horizon when announced: history, not news.
    assert untagged(summary.json()) == {
        "active_days": 90,
        "active_clients": 2,
        "clients_with_open_episode": 1,
        "open_episode_share": 0.5,
        "closed_episodes": 1,
        "repaired_count": 1,
        "settled_count": 0,
        "resolved_by_hand_count": 0,
        "repair_rate": 1.0,
        "settle_rate": 0.0,
        "median_sessions_to_repair": 1.0,
        "episodes": 2,  # none reported by either side: none recognised by both
        "recognised_by_both_count": 0,
        "recognised_by_both_share": 0.0,
        "clients_by_severity": {"none": 1, "low": 0, "medium": 0, "high": 1},
        "alert_window_days": 90,
        "client_sessions": 6,
        "push_alerts": 0,
        "alerts_from_history": 2,
        "push_alerts_per_client_session": 0.0,
        "push_alert_budget": 0.06,
        "within_budget": True,
    }
    assert foreign.status_code == 404  # another clinic's client looks exactly like no client
    assert foreign_caseload.json()["clients"] == []
    assert anonymous.status_code == 401 and unknown.status_code == 404

    audit = await scoring.db["scoring_audit"].find({}, {"_id": 0}).sort("at", 1).to_list()
    assert [(a["clinic_id"], a["route"].split()[1], a["client_ids"], a["found"]) for a in audit] == [
        (clinic, "/v1/clients/{client_id}/alliance", [repaired.client_id], True),
        (
            clinic,
            "/v1/therapists/{therapist_id}/caseload",
            sorted([repaired.client_id, dipping.client_id]),
            True,
        ),
        (other, "/v1/clients/{client_id}/alliance", [repaired.client_id], False),
        (other, "/v1/therapists/{therapist_id}/caseload", [], True),
        (clinic, "/v1/clients/{client_id}/alliance", [f"nobody-{unique}"], False),
    ]
    assert all(a["key_id"] and isinstance(a["at"], datetime) for a in audit)


async def test_settled_apart_from_repaired_imported_history_apart_from_news_and_the_alert_rate(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    repaired = ClientStream(clinic, f"r-{unique}")
    settled = ClientStream(clinic, f"s-{unique}")
    live = ClientStream(clinic, f"l-{unique}", therapist_id="t-2")
    key = scoring.key_for(clinic, Scope.READ)
    async with scoring.running() as http:
        # Weeks ago, sent today: a rupture and its repair; a rupture that settles (calm again at 37, but not
        # back to the usual of 39).
        await feed(
            scoring,
            publisher,
            repaired,
            [repaired.srs(n, t) for n, t in enumerate(["38", "38", "29", "37.5"], 1)],
        )
        totals = ["39", "39", "39", "39", "30", "37", "37"]
        await feed(scoring, publisher, settled, [settled.srs(n, t) for n, t in enumerate(totals, 1)])
        # News: a drop in this week's session (sessions 10 to 13 are the last four weeks).
        await feed(scoring, publisher, live, [*(live.srs(n, "38") for n in (10, 11, 12)), live.srs(13, "29")])
        calm = (await http.get(f"/v1/clients/{settled.client_id}/alliance", headers=bearer(key))).json()
        news = (await http.get(f"/v1/clients/{live.client_id}/alliance", headers=bearer(key))).json()
        summary = (await http.get("/v1/clinic/summary", headers=bearer(key))).json()

    [episode] = calm["past_episodes"]
    assert episode["resolution"]["how"] == "settled" and episode["resolution"]["sessions_to_repair"] is None
    assert episode["resolution"]["session_id"] == "s07"
    assert (calm["summary"]["settled_count"], calm["summary"]["repaired_count"]) == (1, 0)
    assert episode["from_history"] is True
    assert [(a["level"], a["session_id"]) for a in episode["alerts"]] == [("high", "s05")]
    assert news["open_episode"]["from_history"] is False
    assert [(a["level"], a["session_id"]) for a in news["open_episode"]["alerts"]] == [("high", "s13")]
    # One push alert in 15 client-sessions: above the budget of 0.06.
    assert {name: value for name, value in untagged(summary).items() if name != "open_episode_share"} == {
        "active_days": 90,
        "active_clients": 3,
        "clients_with_open_episode": 1,
        "closed_episodes": 2,
        "repaired_count": 1,
        "settled_count": 1,
        "resolved_by_hand_count": 0,
        "repair_rate": 0.5,
        "settle_rate": 0.5,
        "median_sessions_to_repair": 1.0,
        "episodes": 3,  # none reported by either side: none recognised by both
        "recognised_by_both_count": 0,
        "recognised_by_both_share": 0.0,
        "clients_by_severity": {"none": 2, "low": 0, "medium": 0, "high": 1},
        "alert_window_days": 90,
        "client_sessions": 15,
        "push_alerts": 1,
        "alerts_from_history": 2,
        "push_alerts_per_client_session": 1 / 15,
        "push_alert_budget": 0.06,
        "within_budget": False,
    }


async def test_manual_resolution_and_acknowledgement_show_on_the_episode(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    stream = ClientStream(clinic, f"c-{unique}", therapist_id="t-3")
    admin, reader = scoring.key_for(clinic), scoring.key_for(clinic, Scope.READ)
    other_admin = scoring.key_for(f"other-{unique}")
    request = {
        "note": "talked it through; alliance restored",
        "resolved_by": "sup-1",
        "rupture_type": "both",
        "strategies": ["invite_discussion"],
    }
    async with scoring.running() as http:
        await feed(
            scoring, publisher, stream, [stream.srs(1, "38"), stream.srs(2, "38"), stream.srs(3, "29")]
        )
        before = (await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=bearer(reader))).json()
        rupture_id = before["open_episode"]["rupture_id"]
        seen_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        acknowledgement = stream.acknowledgement(
            rupture_id, "t-3", seen_at, rupture_type="withdrawal", strategies=["explain_rationale"]
        )
        await publisher.event(acknowledgement, times=2)

        async def acknowledged() -> bool:
            document = await scoring.client_doc(clinic, stream.client_id)
            return bool(document and document["alliance"]["open_episode"]["acknowledgement"])

        await eventually(acknowledged)
        forbidden = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve", json=request, headers=bearer(reader)
        )
        foreign = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve", json=request, headers=bearer(other_admin)
        )
        invalid = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve", json={"note": ""}, headers=bearer(admin)
        )
        unknown_strategy = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve",
            json={**request, "strategies": ["hugging"]},
            headers=bearer(admin),
        )
        resolved = await http.post(f"/v1/ruptures/{rupture_id}/resolve", json=request, headers=bearer(admin))
        again = await http.post(f"/v1/ruptures/{rupture_id}/resolve", json=request, headers=bearer(admin))
        after = (await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=bearer(reader))).json()
        records = await records_matching(
            scoring.bootstrap,
            topics.RUPTURE_RESOLVED.name,
            lambda r: r.key == stream.key,
            expected=1,
            within=10,
            settle=1,
        )

    ack = before["open_episode"]["acknowledgement"]
    assert ack is None  # read before the acknowledgement arrived
    assert (forbidden.status_code, foreign.status_code, invalid.status_code) == (403, 404, 422)
    assert (
        unknown_strategy.status_code == 422 and "invite_discussion" in unknown_strategy.text
    )  # names the terms
    assert resolved.status_code == 200, resolved.text
    assert again.status_code == 409
    [episode] = after["past_episodes"]
    assert episode["acknowledgement"] == {"acknowledged_by": "t-3", "acknowledged_at": "2030-01-02T03:04:05Z"}
    assert episode["resolution"]["how"] == "manual" and episode["resolution"]["resolved_by"] == "sup-1"
    assert episode["resolution"]["note"] == request["note"] and after["open_episode"] is None
    # The resolution's type is the later word; the strategies of both count.
    assert (episode["rupture_type"], episode["strategies"]) == (
        "both",
        ["explain_rationale", "invite_discussion"],
    )
    [event] = [RUPTURE_RESOLVED.decode(record.value) for record in records]
    assert event.id == resolved.json()["event_id"]
    assert (event.data.how, event.data.resolved_by, event.data.therapist_id) == ("manual", "sup-1", "t-3")
    # The note travels sealed with the client's data key (docs/privacy.md), and opens with it.
    assert event.data.note is not None and str(request["note"]).encode() not in record_bytes(records)
    opened = await Privacy.of(scoring.db).words.open_all(clinic, stream.client_id, {"note": event.data.note})
    assert opened == {"note": request["note"]}
    assert (event.data.rupture_type, event.data.strategies) == ("both", ["invite_discussion"])
    document = await scoring.client_doc(clinic, stream.client_id)
    assert document is not None and len(document["acknowledgements"]) == 1  # the duplicate changed nothing


async def test_clinic_settings_are_validated_and_used(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    stream = ClientStream(clinic, f"c-{unique}")
    admin, reader = scoring.key_for(clinic), scoring.key_for(clinic, Scope.READ)
    async with scoring.running() as http:
        defaults = await http.get("/v1/clinic/settings", headers=bearer(reader))
        bad: dict[str, Any] = {}
        for name, body in {
            "srs_cutoff": {"srs_cutoff": 50},
            "baseline_min_earlier": {"baseline_window": 3, "baseline_min_earlier": 4},
            "alert_threshold": {"alert_threshold": "none"},
            "cutoff": {"cutoff": 30},
        }.items():
            bad[name] = await http.put("/v1/clinic/settings", json=body, headers=bearer(admin))
        forbidden = await http.put("/v1/clinic/settings", json={"srs_cutoff": 30}, headers=bearer(reader))
        changed = await http.put(
            "/v1/clinic/settings", json={"srs_cutoff": 34, "item_low": 7}, headers=bearer(admin)
        )
        await feed(scoring, publisher, stream, [stream.srs(1, "33")])
        alliance = (await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=bearer(reader))).json()

    assert defaults.status_code == 200
    assert defaults.json()["effective"]["srs_cutoff"] == 32.0 and defaults.json()["overrides"] == []
    assert defaults.json()["effective"]["alert_threshold"] == "medium"
    for name, answer in bad.items():
        assert answer.status_code == 422, (name, answer.text)
        assert ["body", name] in [error["loc"][:2] for error in answer.json()["detail"]], (name, answer.text)
    assert forbidden.status_code == 403
    assert changed.status_code == 200
    assert changed.json()["overrides"] == ["item_low", "srs_cutoff"]
    assert (
        changed.json()["effective"]["srs_cutoff"] == 34.0
        and changed.json()["effective"]["steep_floor"] == 30.0
    )
    # 33 is not below the default cutoff (32) but is below the clinic's (34): the clinic's setting is used.
    assert [m["code"] for m in alliance["sessions"][0]["markers"]] == ["below_cutoff"]
    assert alliance["sessions"][0]["markers"][0]["threshold"] == 34.0


def record_bytes(records: list[Any]) -> bytes:
    return b"".join(record.value for record in records)
