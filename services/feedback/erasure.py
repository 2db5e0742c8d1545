"""What feedback does about an erased client (docs/privacy.md): it takes no new event of theirs (410 Gone), and
its purge removes everything it keeps of them.

What feedback keeps of a client: its ``Idempotency-Key`` records naming them (``feedback_idempotency``), the
records of their used feedback links (``feedback_links_used``), their goals (``feedback_client_goals``), and
their data key (``client_keys``; scoring shreds it too, and a purge here shreds any key this service created in
the moment the erasure arrived). The purge runs for every erasure at every start (``Privacy.follow``), so it is
idempotent: each step deletes what is there, if anything.
"""

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from services.feedback.goals import GoalStore
from services.feedback.idempotency import IdempotencyStore
from services.feedback.links.used import UsedLinks
from shared.contracts import ClientErasedV1, CloudEvent
from shared.privacy.plumbing import Privacy

GONE = (
    "this client was erased: the platform takes no more events of theirs, and keeps nothing of them. A client "
    "who comes back after an erasure is a new client: give them a new pseudonym (client_id)."
)
REFUSAL_REASON = "erased"  # the reason counted in alliance_feedback_rejected_total
# Removes what feedback keeps of one client (clinic id, client id): ``FeedbackPurge.client``.
PurgeClient = Callable[[str, str], Awaitable[None]]


class ClientErased(Exception):
    """The client was erased: no event of theirs is taken any more."""


def gone(request: Request | None = None) -> HTTPException:
    """The 410 an API caller gets for an erased client."""
    if request is not None:
        request.state.refusal_reason = REFUSAL_REASON
    return HTTPException(status.HTTP_410_GONE, detail=GONE)


def refuse_erased(privacy: Privacy, clinic_id: str, client_id: str) -> None:
    """ClientErased if the clinic erased this client."""
    if privacy.erased.contains(clinic_id, client_id):
        raise ClientErased(client_id)


class FeedbackPurge:
    """Removes everything feedback keeps of one client; ``Privacy.follow`` runs it for every erasure."""

    def __init__(
        self, privacy: Privacy, idempotency: IdempotencyStore, used_links: UsedLinks, goals: GoalStore
    ) -> None:
        self._privacy = privacy
        self._idempotency = idempotency
        self._used_links = used_links
        self._goals = goals

    async def __call__(self, event: CloudEvent[ClientErasedV1]) -> None:
        await self.client(event.clinicid, event.data.client_id)

    async def client(self, clinic_id: str, client_id: str) -> None:
        await self._idempotency.forget_client(clinic_id, client_id)
        await self._used_links.forget_client(clinic_id, client_id)
        await self._goals.forget_client(clinic_id, client_id)
        await self._privacy.keys.shred(clinic_id, client_id)


__all__ = ["GONE", "REFUSAL_REASON", "ClientErased", "FeedbackPurge", "PurgeClient", "gone", "refuse_erased"]
