"""Replaying the topics into a fresh database yields the live state (clinician actions included)."""

import io

import pytest

from services.scoring.compare import client_differences
from services.scoring.replay import replay
from shared import mongo
from tests.integration.scoring.conftest import Scoring, eventually
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.integration.scoring.test_read_api import bearer

pytestmark = pytest.mark.integration


async def test_replay_rebuilds_exactly_the_live_state(
    scoring: Scoring, publisher: Publisher, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two clients per bulk write: the replay writes one batch while it assesses the next, so several
    # batches (and the last, partial one) are in play even with the few clients of this test.
    monkeypatch.setattr("services.scoring.replay.WRITE_BATCH", 2)
    clinic = f"clinic-{unique}"
    v_episode = ClientStream(clinic, f"v-{unique}")
    resolved = ClientStream(clinic, f"m-{unique}", therapist_id="t-2")
    quiet = ClientStream(clinic, f"q-{unique}")
    admin = scoring.key_for(clinic)
    async with scoring.running() as http:
        changed = await http.put("/v1/clinic/settings", json={"srs_cutoff": 35}, headers=bearer(admin))
        assert changed.status_code == 200
        await feed(
            scoring,
            publisher,
            v_episode,
            [v_episode.srs(n, t) for n, t in enumerate(["38", "38", "29", "37.5"], 1)],
        )
        await feed(
            scoring, publisher, resolved, [resolved.srs(1, "38"), resolved.session(1), resolved.srs(2, "28")]
        )
        await feed(scoring, publisher, quiet, [quiet.srs(1, "35.5"), quiet.session(2, "no_show")])
        # Goals agreed, rated apart by client and therapist (goal_disagreement), then one closed.
        goals = ClientStream(clinic, f"g-{unique}")
        await feed(
            scoring,
            publisher,
            goals,
            [
                goals.srs(1, "38"),
                goals.goals(1, "Sleep through most nights", "Speak up at work"),
                goals.gbo(1, goal_1=2, goal_2=6),
                goals.gbo(1, "therapist", goal_1=7, goal_2=6),
                goals.goal_closed(2, "g-2"),
                goals.srs(2, "38"),
            ],
        )
        alliance = (
            await http.get(f"/v1/clients/{resolved.client_id}/alliance", headers=bearer(admin))
        ).json()
        rupture_id = alliance["open_episode"]["rupture_id"]
        await publisher.event(
            resolved.acknowledgement(rupture_id, "t-2", resolved.srs(2, "28").data.submitted_at)
        )
        answer = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve",
            json={"note": "discussed", "resolved_by": "sup-9"},
            headers=bearer(admin),
        )
        assert answer.status_code == 200, answer.text
        # a session dated after the resolution (next week) opens a new episode
        await feed(scoring, publisher, resolved, [resolved.srs(14, "30")])

        async def all_published() -> bool:
            document = await scoring.client_doc(clinic, resolved.client_id)
            acknowledged = bool(document and document["acknowledgements"])
            return (
                acknowledged
                and await scoring.db["scoring_outbox"].count_documents({"published_at": None}) == 0
            )

        await eventually(all_published)

    progress = io.StringIO()
    fresh = f"{scoring.settings.mongodb_database}_replay"
    await replay(
        scoring.settings,
        fresh,
        settings_from=scoring.settings.mongodb_database,
        progress_every=5,
        out=progress,
    )

    client = mongo.connect(scoring.settings)
    try:
        rebuilt = client.get_database(fresh)
        live_clients, rebuilt_clients = scoring.db["scoring_clients"], rebuilt["scoring_clients"]
        assert await client_differences(live_clients, rebuilt_clients, [clinic]) == []
        assert await rebuilt_clients.count_documents({"clinic_id": clinic}) == 4
        with_goals = await rebuilt_clients.find_one({"_id": f"{clinic}:{goals.client_id}"})
        assert with_goals is not None
        assert [(g["goal_id"], g["status"]) for g in with_goals["alliance"]["goals"]] == [
            ("g-1", "active"),
            ("g-2", "closed"),
        ]
        assert "goal_disagreement" in {m["code"] for m in with_goals["alliance"]["sessions"][0]["markers"]}
        assert await rebuilt["scoring_outbox"].count_documents({}) == 0  # nothing staged, nothing published
        document = await rebuilt_clients.find_one({"_id": f"{clinic}:{resolved.client_id}"})
        assert document is not None
        [past] = document["alliance"]["past_episodes"]
        assert (past["resolution"]["how"], past["resolution"]["resolved_by"]) == ("manual", "sup-9")
        assert past["acknowledgement"]["acknowledged_by"] == "t-2"
        assert document["alliance"]["open_episode"] is not None
        # The comparison can fail: a changed read model is reported.
        await rebuilt_clients.update_one({"_id": document["_id"]}, {"$set": {"alliance.summary.trend": 99.0}})
        assert await client_differences(live_clients, rebuilt_clients, [clinic]) == [
            f"{document['_id']}: alliance differs"
        ]
    finally:
        await client.drop_database(fresh)
        await client.close()
    lines = progress.getvalue().splitlines()
    assert lines[0].startswith("replay: reading about") and any(
        "/" in line and "records" in line for line in lines
    )
