"""The upcasters of rupture.suspected (v1 -> v2: from_history), rupture.resolved (v2 -> v3: settled; v3 -> v4:
the 3RS tags) and rupture.acknowledged (v1 -> v2: the tags)."""

import json
from typing import Any

import pytest

from shared.contracts import (
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    ContractViolation,
    RuptureResolvedV2,
    RuptureResolvedV3,
    RuptureSuspectedV1,
    RuptureSuspectedV2,
    RuptureSuspectedV3,
    RuptureSuspectedV4,
)
from shared.contracts.registry import (
    upcast_rupture_resolved_v1_v2,
    upcast_rupture_resolved_v2_v3,
    upcast_rupture_suspected_v1_v2,
    upcast_rupture_suspected_v2_v3,
)

SUSPECTED_V1: dict[str, Any] = {
    "rupture_id": "r-1",
    "therapist_id": "t-7",
    "client_id": "c-1",
    "session_id": "s-3",
    "session_at": "2026-11-20T10:00:00+00:00",
    "severity": "high",
    "markers": [{"code": "steep_drop", "family": "change", "level": "high", "value": 29.0, "threshold": 5.0}],
    "srs_total": 29.0,
    "baseline": 37.5,
}
RESOLVED_V2: dict[str, Any] = {
    "rupture_id": "r-1",
    "therapist_id": "t-7",
    "client_id": "c-1",
    "how": "repaired",
    "sessions_to_repair": 2,
    "resolved_at": "2026-11-27T10:00:00+00:00",
    "resolved_by": None,
}


def envelope(name: str, version: int, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/old",
            "type": f"org.alliance.{name}.v{version}",
            "clinicid": "clinic-1",
            "subject": "clinic-1:c-1",
            "data": data,
        }
    )


def test_suspected_v1_to_v2_is_pure_and_says_not_from_history() -> None:
    before = dict(SUSPECTED_V1)
    upcast = upcast_rupture_suspected_v1_v2(before)
    assert before == SUSPECTED_V1  # the input is left as it was
    assert RuptureSuspectedV2.model_validate(upcast) == RuptureSuspectedV2(
        **RuptureSuspectedV1.model_validate(SUSPECTED_V1).model_dump(), from_history=False
    )


def test_a_v1_alert_decodes_as_the_latest_version_pushed_as_before() -> None:
    event = RUPTURE_SUSPECTED.decode(envelope("rupture.suspected", 1, SUSPECTED_V1))
    assert event.type == "org.alliance.rupture.suspected.v4"
    assert isinstance(event.data, RuptureSuspectedV4) and event.data.from_history is False
    assert event.data.recognised_by == "neither"
    assert [(m.expected, m.model_version) for m in event.data.markers] == [(None, None)] * len(
        event.data.markers
    )


def test_a_v3_alert_cannot_smuggle_a_v4_marker_field() -> None:
    v3 = {**SUSPECTED_V1, "from_history": False, "recognised_by": "both"}
    marker = {**v3["markers"][0], "model_version": "c-1@2026-11-28T00:00:00Z"}
    with pytest.raises(ContractViolation, match=r"v3.*model_version"):
        RUPTURE_SUSPECTED.decode(envelope("rupture.suspected", 3, {**v3, "markers": [marker]}))


def test_suspected_v2_to_v3_says_recognised_by_neither() -> None:
    before = {**SUSPECTED_V1, "from_history": True}
    upcast = upcast_rupture_suspected_v2_v3(before)
    assert "recognised_by" not in before  # the input is left as it was
    assert RuptureSuspectedV3.model_validate(upcast) == RuptureSuspectedV3(
        **RuptureSuspectedV2.model_validate(before).model_dump(), recognised_by="neither"
    )


def test_a_v2_alert_cannot_smuggle_a_v3_field() -> None:
    with pytest.raises(ContractViolation, match=r"v2.*recognised_by"):
        RUPTURE_SUSPECTED.decode(
            envelope("rupture.suspected", 2, {**SUSPECTED_V1, "from_history": False, "recognised_by": "both"})
        )


def test_a_v2_alert_keeps_its_from_history() -> None:
    event = RUPTURE_SUSPECTED.decode(envelope("rupture.suspected", 2, {**SUSPECTED_V1, "from_history": True}))
    assert event.data.from_history is True


def test_a_v1_alert_cannot_smuggle_a_v2_field() -> None:
    with pytest.raises(ContractViolation, match=r"v1.*from_history"):
        RUPTURE_SUSPECTED.decode(envelope("rupture.suspected", 1, {**SUSPECTED_V1, "from_history": True}))


def test_resolved_v2_to_v3_keeps_every_field_and_leaves_its_input_alone() -> None:
    before = dict(RESOLVED_V2)
    upcast = upcast_rupture_resolved_v2_v3(before)
    assert before == RESOLVED_V2 and upcast is not before
    assert RuptureResolvedV3.model_validate(upcast).model_dump() == (
        RuptureResolvedV2.model_validate(RESOLVED_V2).model_dump()
    )


@pytest.mark.parametrize("version", [1, 2])
def test_old_resolutions_decode_as_the_latest_step_by_step(version: int) -> None:
    data = dict(RESOLVED_V2)
    if version == 1:
        del data["resolved_by"]
        assert upcast_rupture_resolved_v1_v2(data)["resolved_by"] is None
    event = RUPTURE_RESOLVED.decode(envelope("rupture.resolved", version, data))
    assert event.type == "org.alliance.rupture.resolved.v5"
    assert (event.data.how, event.data.sessions_to_repair, event.data.resolved_by) == ("repaired", 2, None)


def test_settled_exists_from_v3_only() -> None:
    settled = {**RESOLVED_V2, "how": "settled", "sessions_to_repair": None}
    assert RUPTURE_RESOLVED.decode(envelope("rupture.resolved", 3, settled)).data.how == "settled"
    with pytest.raises(ContractViolation, match=r"v2.*how"):
        RUPTURE_RESOLVED.decode(envelope("rupture.resolved", 2, settled))


ACKNOWLEDGED_V1: dict[str, Any] = {
    "rupture_id": "r-1",
    "therapist_id": "t-7",
    "client_id": "c-1",
    "acknowledged_by": "t-7",
    "acknowledged_at": "2026-11-21T09:00:00+00:00",
    "via": "link",
}


def test_before_the_tags_nothing_was_named() -> None:
    acknowledged = RUPTURE_ACKNOWLEDGED.decode(envelope("rupture.acknowledged", 1, ACKNOWLEDGED_V1))
    assert acknowledged.type == "org.alliance.rupture.acknowledged.v2"
    assert (acknowledged.data.rupture_type, acknowledged.data.strategies, acknowledged.data.via) == (
        None,
        [],
        "link",
    )
    resolved = RUPTURE_RESOLVED.decode(envelope("rupture.resolved", 3, RESOLVED_V2))
    assert (resolved.data.rupture_type, resolved.data.strategies) == (None, [])


TAGS = [
    pytest.param(
        {"rupture_type": "withdrawal", "strategies": ["redirect"]}, None, id="a-type-and-a-strategy"
    ),
    pytest.param({"strategies": ["invite_discussion", "acknowledge_own_part"]}, None, id="strategies-alone"),
    pytest.param({"rupture_type": "sulking"}, "rupture_type", id="an-unknown-type"),
    pytest.param({"strategies": ["hugging"]}, "strategies", id="an-unknown-strategy"),
    pytest.param(
        {"strategies": ["redirect", "redirect"]}, "each strategy at most once", id="a-strategy-twice"
    ),
]


@pytest.mark.parametrize(("tags", "refused"), TAGS)
def test_tags_are_the_3rs_terms_each_strategy_once(tags: dict[str, Any], refused: str | None) -> None:
    body = envelope("rupture.acknowledged", 2, {**ACKNOWLEDGED_V1, **tags})
    if refused is None:
        assert RUPTURE_ACKNOWLEDGED.decode(body).data.model_dump(mode="json", include=set(tags)) == tags
    else:
        with pytest.raises(ContractViolation, match=refused):
            RUPTURE_ACKNOWLEDGED.decode(body)
