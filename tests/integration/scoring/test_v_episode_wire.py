"""The worked V-episode (client SRS 38, 38, 29, then 37.5) through the real service: exactly these wire
events, with deterministic ids. Run with ``-s`` to see them."""

import json
from typing import Any

import pytest

from shared import topics
from shared.contracts import derived_event_id
from tests.integration.scoring.conftest import Scoring
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
OUTBOUND = (topics.RUPTURE_SUSPECTED, topics.RUPTURE_RESOLVED, topics.ALLIANCE_UPDATED)


async def test_a_v_episode_produces_one_alert_one_repair_and_four_summaries(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}", therapist_id="t-7")
    events = [stream.srs(n, total) for n, total in enumerate(["38", "38", "29", "37.5"], start=1)]
    async with scoring.running():
        await feed(scoring, publisher, stream, events)
        wire: dict[str, list[dict[str, Any]]] = {}
        for topic, expected in zip(OUTBOUND, (1, 1, 4), strict=True):
            found = await records_matching(
                scoring.bootstrap,
                topic.name,
                lambda r: r.key == stream.key,
                expected=expected,
                within=15,
                settle=1,
            )
            wire[topic.name] = [json.loads(record.value) for record in found]

    for name, documents in wire.items():
        for document in documents:
            print(name, json.dumps({k: document[k] for k in ("type", "id", "data")}, indent=1))
    [suspected], [resolved] = wire["rupture.suspected"], wire["rupture.resolved"]
    assert suspected["type"] == "org.alliance.rupture.suspected.v4"
    assert suspected["data"]["from_history"] is True  # the stream's sessions are weeks old when announced
    assert (suspected["data"]["session_id"], suspected["data"]["severity"]) == ("s03", "high")
    assert suspected["data"]["srs_total"] == 29.0 and suspected["data"]["baseline"] == 38.0
    assert resolved["type"] == "org.alliance.rupture.resolved.v5"
    assert resolved["data"]["rupture_id"] == suspected["data"]["rupture_id"]
    assert (resolved["data"]["how"], resolved["data"]["sessions_to_repair"]) == ("repaired", 1)
    assert resolved["data"]["therapist_id"] == "t-7"
    updates = wire["alliance.updated"]
    assert [u["id"] for u in updates] == [
        derived_event_id(stream.clinic_id, stream.client_id, e.id, "alliance.updated") for e in events
    ]
    assert [u["data"]["latest_srs_total"] for u in updates] == [38.0, 38.0, 29.0, 37.5]
    assert [u["data"].get("open_rupture_id") for u in updates] == [
        None,
        None,
        suspected["data"]["rupture_id"],
        None,
    ]
    assert all("comment" not in json.dumps(u) for u in updates)
