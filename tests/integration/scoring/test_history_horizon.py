"""History is not news, on the real Kafka and MongoDB: an alert about an imported old session is published
with ``from_history``, a recent one without it, and the clinic's push horizon decides which is which."""

from typing import Any

import pytest

from shared import topics
from shared.contracts import RUPTURE_SUSPECTED, CloudEvent
from tests.integration.scoring.conftest import Scoring
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.integration.scoring.test_read_api import bearer
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration

# The streams' sessions are a week apart and end last week: s01-s03 are 10-12 weeks old when announced now,
# s10-s12 at most 3 weeks old, s12 one week old.
IMPORTED = ("38", "38", "29")


def history(stream: ClientStream, first: int) -> list[CloudEvent[Any]]:
    return [stream.srs(first + i, total) for i, total in enumerate(IMPORTED)]


async def alerts_of(scoring: Scoring, clinic: str, expected: int) -> dict[str, Any]:
    def ours(record: Any) -> bool:
        return bool(record.key.decode().startswith(f"{clinic}:"))

    records = await records_matching(
        scoring.bootstrap, topics.RUPTURE_SUSPECTED.name, ours, expected=expected, within=20, settle=1
    )
    events = [RUPTURE_SUSPECTED.decode(record.value) for record in records]
    return {event.data.client_id: event for event in events}


async def test_an_alert_about_an_old_session_is_from_history_and_a_recent_one_is_news(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    imported, recent = ClientStream(clinic, f"old-{unique}"), ClientStream(clinic, f"new-{unique}")
    async with scoring.running():
        await feed(scoring, publisher, imported, history(imported, 1))
        await feed(scoring, publisher, recent, history(recent, 10))
        alerts = await alerts_of(scoring, clinic, expected=2)

    assert set(alerts) == {imported.client_id, recent.client_id}, alerts
    old, new = alerts[imported.client_id], alerts[recent.client_id]
    assert old.type == new.type == "org.alliance.rupture.suspected.v4"
    assert (old.data.session_id, old.data.from_history) == ("s03", True)
    assert (new.data.session_id, new.data.from_history) == ("s12", False)
    # Published as usual: same severity and markers as the news would carry.
    assert old.data.severity == new.data.severity and old.data.markers
    old_doc = await scoring.client_doc(clinic, imported.client_id)
    new_doc = await scoring.client_doc(clinic, recent.client_id)
    assert old_doc is not None and new_doc is not None
    assert old_doc["emitted"]["from_history"] == [old.data.rupture_id]
    assert new_doc["emitted"]["from_history"] == []


async def test_the_clinic_s_push_horizon_decides_what_history_is(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    imported = ClientStream(clinic, f"old-{unique}")
    admin = scoring.key_for(clinic)
    async with scoring.running() as http:
        refused = await http.put(
            "/v1/clinic/settings", json={"push_horizon_days": 3651}, headers=bearer(admin)
        )
        changed = await http.put(
            "/v1/clinic/settings", json={"push_horizon_days": 365}, headers=bearer(admin)
        )
        await feed(scoring, publisher, imported, history(imported, 1))
        alerts = await alerts_of(scoring, clinic, expected=1)

    assert refused.status_code == 422, refused.text
    assert ["body", "push_horizon_days"] in [error["loc"][:2] for error in refused.json()["detail"]]
    assert changed.status_code == 200, changed.text
    assert changed.json()["effective"]["push_horizon_days"] == 365
    assert changed.json()["overrides"] == ["push_horizon_days"]
    # A year's horizon: a session from three months ago is still news for this clinic.
    assert alerts[imported.client_id].data.from_history is False
