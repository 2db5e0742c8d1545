"""A change of the rules alerts no one about the past, on the real Kafka and MongoDB.

A client stored before version 2.1 carries announcements made under the old rules: there, one long episode
was alerted at medium, while the current rules see it settle and a second episode open later. When that
client's next event arrives, the service re-assesses the whole history; what the current rules imply about
sessions already dealt with is adopted as announced, and only what the new event changes is published."""

from typing import Any

import pytest

from services.scoring import domain
from services.scoring.app import OUTBOX
from services.scoring.clients import ClientStore
from services.scoring.service import assess
from shared import topics
from shared.contracts import RUPTURE_SUSPECTED
from tests.integration.scoring.conftest import Scoring
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration

# 38 x3 (the usual), 34 (a drop: episode one), 36.5 x2 (it settles), 38 x2, 33 (a drop: episode two).
HISTORY = ("38", "38", "38", "34", "36.5", "36.5", "38", "38", "33")


async def suspected_ids(scoring: Scoring, stream: ClientStream, expected: int) -> list[str]:
    def ours(record: Any) -> bool:
        return bool(record.key == stream.key)

    records = await records_matching(
        scoring.bootstrap, topics.RUPTURE_SUSPECTED.name, ours, expected=expected, within=20, settle=2
    )
    return [RUPTURE_SUSPECTED.decode(record.value).id for record in records]


async def test_a_history_announced_under_old_rules_is_adopted_not_alerted_again(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    stream = ClientStream(clinic, f"c-{unique}")
    async with scoring.running():
        await feed(scoring, publisher, stream, [stream.srs(n, t) for n, t in enumerate(HISTORY, start=1)])
        published = await suspected_ids(scoring, stream, expected=2)
    assert len(published) == 2  # episode one and episode two, both high, as the current rules see them

    # Rewrite the stored client as version 1 left it: no rules stamp, and one announcement only, a medium
    # alert of an episode the current rules no longer derive.
    store = ClientStore(scoring.db["scoring_clients"])
    record = await store.load(clinic, stream.client_id)
    old_episode = domain.rupture_episode_id(clinic, stream.client_id, "an-event-of-the-old-rules")
    record.emitted = domain.EmittedLog(alerted=frozenset({(old_episode, domain.Severity.MEDIUM)}))
    record.rules = None
    await store.save(record, assess(record, domain.Thresholds()))
    await scoring.db[OUTBOX].delete_many({})  # and nothing of the current rules' was ever staged
    # Without adoption this log would owe alerts about the past: the check below could fail.
    timeline = assess(record, domain.Thresholds()).timeline
    assert any(isinstance(e, domain.RuptureSuspected) for e in domain.owed_events(timeline, record.emitted))

    async with scoring.running():
        await feed(scoring, publisher, stream, [stream.srs(len(HISTORY) + 1, "33")])  # still low: no news
        after = await suspected_ids(scoring, stream, expected=3)

    assert after == published, "a rules change announced the past again"
    document = await scoring.client_doc(clinic, stream.client_id)
    assert document is not None and document["rules"] == domain.RULES_VERSION
    adopted = {episode_id for episode_id, _ in document["emitted"]["alerted"]}
    assert old_episode in adopted
    assert {e.episode_id for e in timeline.episodes} <= adopted | set(document["emitted"]["resolved"])
