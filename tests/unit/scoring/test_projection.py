"""The read model's alerts: which were announced, dated by their sessions, and imported history marked."""

from datetime import timedelta

from services.scoring import domain
from services.scoring.domain.announcements import alerts_from_history
from services.scoring.projection import alliance_view
from tests.unit.scoring.builders import T0, TABLE, history_of


def stale_history() -> domain.ClientHistory:
    """A drop below the cutoff that stays: the episode goes stale while it still hurts."""
    return history_of(["38", "38", "38", "33", "33.5", "33", "34"])


def test_a_stale_escalation_counts_once_beside_the_alert_before_it() -> None:
    assessment = domain.assess_client(stale_history(), TABLE)
    owed = assessment.owed_events(domain.EmittedLog())
    view = alliance_view(assessment, domain.EmittedLog().record(owed))
    episode = view.open_episode
    assert episode is not None and episode.stale and not episode.from_history
    suspected = [e for e in owed if isinstance(e, domain.RuptureSuspected)]
    assert [a.level for a in episode.alerts] == ["stale" if e.stale else e.severity.value for e in suspected]
    assert [a.session_at for a in episode.alerts] == [e.session_at for e in suspected]
    assert alliance_view(assessment).open_episode.alerts == []  # type: ignore[union-attr]  # nothing announced


def test_an_episode_first_announced_long_after_its_session_is_from_history() -> None:
    assessment = domain.assess_client(stale_history(), TABLE)
    owed = assessment.owed_events(domain.EmittedLog())
    later = T0 + timedelta(weeks=30)
    emitted = domain.EmittedLog().record(owed, from_history=alerts_from_history(owed, later, 14))
    episode = alliance_view(assessment, emitted).open_episode
    assert episode is not None and episode.from_history and episode.alerts


def test_a_stale_escalation_of_a_medium_episode_is_one_alert_not_a_high_and_a_stale() -> None:
    low_item = "srs=7.9/10/10/10"
    assessment = domain.assess_client(history_of(["38", "38", "38", *[low_item] * 4]), TABLE)
    owed = assessment.owed_events(domain.EmittedLog())
    emitted = domain.EmittedLog().record(owed)
    episode = alliance_view(assessment, emitted).open_episode
    assert episode is not None and episode.stale
    assert {level for _, level in emitted.alerted} == {domain.Severity.MEDIUM, domain.Severity.HIGH}
    assert [(a.level, a.session_id) for a in episode.alerts] == [("medium", "s04"), ("stale", "s07")]
