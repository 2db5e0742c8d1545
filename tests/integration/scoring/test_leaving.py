"""A clinic leaving the platform: ``alliance export-clinic`` writes what the API exports, for every client;
``alliance erase-clinic`` refuses while a client is on hold, then erases every client, revokes every key and
removes the clinic's configuration (docs/privacy.md)."""

import json
from pathlib import Path

import pytest

from services.scoring.lifecycle.commands import erase_clinic, export_clinic
from services.scoring.lifecycle.erasure import ClientOnHold
from shared.auth import KeyRing, Scope
from shared.clinic_keys import catch_up, publish_key
from shared.messaging import make_broker
from tests.integration.scoring.conftest import Scoring
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed

pytestmark = pytest.mark.integration
WORDS = "not what I came for"


async def test_a_clinic_exports_everything_then_leaves(
    scoring: Scoring, publisher: Publisher, unique: str, tmp_path: Path
) -> None:
    clinic = f"leaving-{unique}"
    streams = [ClientStream(clinic, f"c-{n}-{unique}") for n in (1, 2)]
    admin = {"Authorization": f"Bearer {scoring.key_for(clinic)}"}
    broker = make_broker(scoring.settings, "test")
    await broker.connect()
    try:
        await publish_key(broker, clinic, f"clinic-key-{unique}", frozenset({Scope.ADMIN}))
    finally:
        await broker.stop()
    async with scoring.running() as http:
        for stream in streams:
            await feed(
                scoring,
                publisher,
                stream,
                [stream.srs(1, "38"), stream.note(1, "Next: walk."), stream.answer(1, "no", comment=WORDS)],
            )
        assert (
            await http.put("/v1/clinic/retention", json={"retention_months": 12}, headers=admin)
        ).is_success
        api_export = (await http.get(f"/v1/clients/{streams[0].client_id}/export", headers=admin)).json()
        await http.put(f"/v1/clients/{streams[1].client_id}/hold", json={"on": True}, headers=admin)

    seen: list[tuple[int, int]] = []
    count = await export_clinic(
        clinic, tmp_path, lambda done, total: seen.append((done, total)), scoring.settings
    )
    assert count == 2 and seen == [(1, 2), (2, 2)]
    written = json.loads((tmp_path / "clients" / f"{streams[0].client_id}.json").read_text())
    assert {k: v for k, v in written.items() if k not in ("exported_at", "audit")} == {
        k: v for k, v in api_export.items() if k not in ("exported_at", "audit")
    }
    assert written["events"][-1]["data"]["comment"] == WORDS
    fhir = json.loads((tmp_path / "clients" / f"{streams[0].client_id}.fhir.json").read_text())
    assert fhir["resourceType"] == "Bundle" and fhir["type"] == "collection"
    assert json.loads((tmp_path / "settings.json").read_text())["retention_months"] == 12

    with pytest.raises(ClientOnHold):
        await erase_clinic(clinic, "contract ended", scoring.settings)
    assert len(await scoring.db["scoring_clients"].distinct("client_id", {"clinic_id": clinic})) == 2
    await scoring.db["scoring_holds"].delete_many({"clinic_id": clinic})

    erased = await erase_clinic(clinic, "contract ended", scoring.settings)
    assert (erased.clients, erased.keys_revoked) == (2, 1)
    for name in await scoring.db.list_collection_names():
        left = await scoring.db[name].find({"$or": [{"clinic_id": clinic}, {"_id": clinic}]}).to_list()
        expected = 2 if name == "scoring_erasures" else 0
        assert len(left) == expected, f"{name} still holds {left}"
    ring = KeyRing()
    await catch_up(ring, scoring.bootstrap)
    assert [revoked for _, _, revoked in ring.keys_of(clinic)] == [True]
