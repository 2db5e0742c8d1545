"""Comparing two scoring databases' client state, e.g. a replayed one with the live one."""

from collections.abc import Collection
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]
# Written with the wall-clock time of each save: differs between any two builds of the same state.
VOLATILE_FIELDS = frozenset({"updated_at"})
# Kept in the order they were applied, which two builds of the same state need not share: compared as sets.
UNORDERED_FIELDS = frozenset({"events"})


async def client_differences(
    left: AsyncCollection[Document],
    right: AsyncCollection[Document],
    clinic_ids: Collection[str] | None = None,
) -> list[str]:
    """Human-readable differences between two ``scoring_clients`` collections (empty: equal), ignoring the
    volatile fields; restricted to ``clinic_ids`` when given."""
    query: Document = {"clinic_id": {"$in": list(clinic_ids)}} if clinic_ids is not None else {}
    ours = {document["_id"]: document async for document in left.find(query)}
    theirs = {document["_id"]: document async for document in right.find(query)}
    differences = [f"{key}: only on the left" for key in sorted(ours.keys() - theirs.keys())]
    differences += [f"{key}: only on the right" for key in sorted(theirs.keys() - ours.keys())]
    for key in sorted(ours.keys() & theirs.keys()):
        a, b = ours[key], theirs[key]
        for name in sorted((a.keys() | b.keys()) - VOLATILE_FIELDS):
            if _comparable(name, a.get(name)) != _comparable(name, b.get(name)):
                differences.append(f"{key}: {name} differs")
    return differences


def _comparable(name: str, value: Any) -> Any:
    if name in UNORDERED_FIELDS and isinstance(value, list):
        return sorted(value, key=lambda event: str(event.get("id")))
    return value
