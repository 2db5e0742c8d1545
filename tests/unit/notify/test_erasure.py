"""notify's gate on erased clients, with a fake purge: what is dropped and counted, and when it purges again."""

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from services.notify.erasure import Erasures
from shared.privacy.erasure import ErasedClients, erasure_event


class RecordingPurge:
    def __init__(self) -> None:
        self.purged: list[tuple[str, str]] = []

    async def purge(self, clinic_id: str, client_id: str) -> int:
        self.purged.append((clinic_id, client_id))
        return 1


def dropped() -> float:
    value = REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "notify"})
    return value or 0.0


def gate(*erased: tuple[str, str]) -> tuple[Erasures, RecordingPurge]:
    clients = ErasedClients()
    for clinic_id, client_id in erased:
        clients.add(clinic_id, client_id)
    purge = RecordingPurge()
    return Erasures(clients, purge), purge


def test_only_an_erased_clients_events_are_dropped_each_one_counted() -> None:
    erasures, purge = gate(("clinic-a", "c-1"))
    before = dropped()
    assert erasures.drop("clinic-a", "c-1") and erasures.drop("clinic-a", "c-1")
    assert not erasures.drop("clinic-a", "c-2")
    assert not erasures.drop(
        "clinic-b", "c-1"
    )  # the pseudonym is the clinic's: another clinic's c-1 is another
    assert dropped() - before == 2
    assert purge.purged == []  # dropping applies nothing, and needs no purge


async def test_a_record_committed_after_the_erasure_is_purged_again() -> None:
    erasures, purge = gate(("clinic-a", "c-1"))
    assert await erasures.settle("clinic-a", "c-1")
    assert not await erasures.settle("clinic-a", "c-2")
    assert purge.purged == [("clinic-a", "c-1")]


async def test_queued_work_of_an_erased_client_is_purged_not_sent() -> None:
    erasures, purge = gate(("clinic-a", "c-1"))
    before = dropped()
    assert await erasures.drop_work("clinic-a", "c-1", {"delivery_id": "d-1"})
    assert not await erasures.drop_work("clinic-a", "c-2", {"delivery_id": "d-2"})
    assert purge.purged == [("clinic-a", "c-1")]
    assert dropped() == before  # work is not an event: the counter counts events only


async def test_the_follower_purges_the_erased_client() -> None:
    erasures, purge = gate()
    await erasures.purge(
        erasure_event("clinic-a", "c-9", by="operator", at=datetime(2026, 11, 20, tzinfo=UTC))
    )
    assert purge.purged == [("clinic-a", "c-9")]
    assert not erasures.contains("clinic-a", None)  # an episode that names no client is nobody's
