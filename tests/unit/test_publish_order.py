"""The intake's publishing order: different clients' events at once, one client's one after the other, and
nothing sent after a client's event that Kafka did not take (it could be stored before that one's retry)."""

import asyncio
from typing import Any

from aiokafka.errors import KafkaTimeoutError

from services.feedback.event_store import publish_all
from shared.contracts import SESSION_COMPLETED, SessionCompletedV1
from tests.unit.test_contracts import EXAMPLES


class FakeBroker:
    """Acknowledges each publish after a short while, or fails the ones named; records what was sent when."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.sent: list[str] = []
        self.acknowledged: list[str] = []

    async def publish(self, value: bytes, *, headers: dict[str, str], **_: Any) -> "asyncio.Future[None]":
        event_id = headers["ce-id"]
        self.sent.append(event_id)
        confirmation: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def answer() -> None:
            if event_id in self.failing:
                confirmation.set_exception(KafkaTimeoutError())
            else:
                self.acknowledged.append(event_id)
                confirmation.set_result(None)

        asyncio.get_running_loop().call_later(0.01, answer)
        return confirmation


def session(client: str, number: int) -> Any:
    data = SessionCompletedV1.model_validate(EXAMPLES["session.completed"])
    event = SESSION_COMPLETED.envelope(
        data, clinic_id="c", client_id=client, source="/tests", event_id=f"{client}-{number}"
    )
    return (SESSION_COMPLETED, event)


async def test_a_clients_events_wait_for_each_other_and_stop_at_the_first_not_taken() -> None:
    publications = [session("a", 0), session("b", 0), session("a", 1), session("b", 1), session("a", 2)]
    broker = FakeBroker(failing={"a-1"})

    acknowledged = await publish_all(broker, publications)  # type: ignore[arg-type]

    assert acknowledged == [True, True, False, True, False]
    assert "a-2" not in broker.sent  # never sent after a-1 failed
    assert broker.sent.index("b-0") < broker.sent.index("a-1")  # clients overlap: b did not wait for a
    assert broker.sent.index("a-0") < broker.sent.index("a-1")
    assert broker.acknowledged.index("a-0") < broker.sent.index("a-1")  # a-1 only once a-0 was taken


async def test_a_request_cancelled_while_waiting_sends_nothing_more() -> None:
    publications = [session("a", 0), session("b", 0), session("a", 1)]
    broker = FakeBroker(failing=set())

    publishing = asyncio.ensure_future(publish_all(broker, publications))  # type: ignore[arg-type]
    await asyncio.sleep(0.005)  # both first events sent, neither acknowledged yet
    publishing.cancel()
    await asyncio.sleep(0.05)

    assert broker.sent == ["a-0", "b-0"]  # a-1 would have followed a-0's acknowledgement
