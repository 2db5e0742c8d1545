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


@pytest.mark.parametrize("code", ["below_cutoff", "item_low"])
@pytest.mark.parametrize(("level", "usual"), [(Severity.LOW, True), (Severity.MEDIUM, False)])
def test_a_score_marker_at_the_clients_usual_says_so(code: str, level: Severity, usual: bool) -> None:
    value, bound = (31.0, 32.0) if code == "below_cutoff" else (6.8, 7.0)
    marker = MarkerV1(code=code, family="score", level=level, value=value, threshold=bound, dimension="bond")
    words = describe(marker, RUPTURE)
    assert ("as usual for this client" in words) is usual
    assert "below" in words
