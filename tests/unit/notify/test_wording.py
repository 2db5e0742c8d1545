"""Alert wording of the case-sensitive score markers (version 2.1): a low one says it is the client's usual."""

from datetime import UTC, datetime

import pytest

from services.notify.wording import describe
from shared.contracts import MarkerV1, RuptureSuspectedV2
from shared.contracts.events import Severity

RUPTURE = RuptureSuspectedV2(
    rupture_id="r-1",
    therapist_id="t-1",
    client_id="c-1",
    session_id="s-9",
    session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
    severity=Severity.HIGH,
    markers=[],
    srs_total=31.0,
    baseline=31.4,
)


@pytest.mark.parametrize(
    ("marker", "usual"),
    [
        (MarkerV1(code="below_cutoff", family="score", level=Severity.LOW, value=31.0, threshold=32.0), True),
        (
            MarkerV1(code="below_cutoff", family="score", level=Severity.MEDIUM, value=31.0, threshold=32.0),
            False,
        ),
        (
            MarkerV1(
                code="item_low",
                family="score",
                level=Severity.LOW,
                value=6.8,
                threshold=7.0,
                dimension="bond",
            ),
            True,
        ),
        (
            MarkerV1(
                code="item_low",
                family="score",
                level=Severity.MEDIUM,
                value=6.8,
                threshold=7.0,
                dimension="bond",
            ),
            False,
        ),
    ],
)
def test_a_score_marker_at_the_clients_usual_says_so(marker: MarkerV1, usual: bool) -> None:
    words = describe(marker, RUPTURE)
    assert ("as usual for this client" in words) is usual
    assert "below" in words
