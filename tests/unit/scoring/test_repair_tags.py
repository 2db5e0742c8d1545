"""Naming the rupture and its repair (DOMAIN.md version 2, 3RS tags): what an episode carries from its
acknowledgement and its manual resolution, and the clinic's repair figures per type and strategy."""

from datetime import timedelta

import pytest

from services.scoring.clinic_figures import TOO_FEW_TO_COMPARE, clinic_figures, clinic_summary
from services.scoring.domain import Acknowledgement, ClinicianActions, ManualResolution, RepairTags
from services.scoring.projection import alliance_view
from services.scoring.views import EpisodeView, ResolutionName
from shared.repair import RepairStrategy as S
from shared.repair import RuptureType as T

from .builders import assess, session_at
from .test_clinic_figures import NOW, client, episode

STORY = ["38", "35", "35"]  # an episode opened at session 2


def tagged(ack: RepairTags | None, resolution: RepairTags | None) -> RepairTags:
    episode_id = assess(STORY).timeline.episodes[0].episode_id
    actions = ClinicianActions()
    if ack is not None:
        actions = actions.with_acknowledgement(Acknowledgement(episode_id, "t-7", session_at(2), ack))
    if resolution is not None:
        at = session_at(2) + timedelta(hours=5)
        actions = actions.with_resolution(ManualResolution(episode_id, "t-7", at, "talked", resolution))
    return assess(STORY, actions=actions).timeline.episodes[0].tags


TAGGINGS = [
    pytest.param(None, None, RepairTags(), id="nobody-named-it"),
    pytest.param(
        RepairTags(T.WITHDRAWAL, (S.REDIRECT,)),
        None,
        RepairTags(T.WITHDRAWAL, (S.REDIRECT,)),
        id="acknowledged",
    ),
    pytest.param(
        None, RepairTags(T.CONFRONTATION, ()), RepairTags(T.CONFRONTATION, ()), id="resolved-by-hand"
    ),
    pytest.param(
        RepairTags(T.WITHDRAWAL, (S.REDIRECT,)),
        RepairTags(T.BOTH, (S.INVITE_DISCUSSION,)),
        RepairTags(T.BOTH, (S.INVITE_DISCUSSION, S.REDIRECT)),
        id="the-resolutions-type-is-the-later-word-and-strategies-add-up",
    ),
    pytest.param(
        RepairTags(T.WITHDRAWAL, (S.REDIRECT,)),
        RepairTags(None, (S.REDIRECT,)),
        RepairTags(T.WITHDRAWAL, (S.REDIRECT,)),
        id="a-resolution-naming-no-type-keeps-the-acknowledgements",
    ),
]


@pytest.mark.parametrize(("ack", "resolution", "expected"), TAGGINGS)
def test_an_episode_carries_its_clinicians_tags(
    ack: RepairTags | None, resolution: RepairTags | None, expected: RepairTags
) -> None:
    assert tagged(ack, resolution) == expected


def test_strategies_have_one_order_whatever_order_they_were_given_in() -> None:
    assert RepairTags(None, (S.REDIRECT, S.CLARIFY_MISUNDERSTANDING)).strategies == (
        S.CLARIFY_MISUNDERSTANDING,
        S.REDIRECT,
    )


def test_the_episode_view_shows_the_tags() -> None:
    episode_id = assess(STORY).timeline.episodes[0].episode_id
    ack = Acknowledgement(episode_id, "t-7", session_at(2), RepairTags(T.WITHDRAWAL, (S.EXPLAIN_RATIONALE,)))
    view = alliance_view(assess(STORY, actions=ClinicianActions().with_acknowledgement(ack)))
    assert view.open_episode is not None
    assert (view.open_episode.rupture_type, view.open_episode.strategies) == (
        T.WITHDRAWAL,
        [S.EXPLAIN_RATIONALE],
    )


def named(
    n: int, how: ResolutionName | None, sessions: int | None, kind: T | None, *strategies: S
) -> EpisodeView:
    return episode(n, how=how, sessions_to_repair=sessions).model_copy(
        update={"rupture_type": kind, "strategies": list(strategies)}
    )


def test_repair_figures_per_type_and_strategy_with_too_few_to_compare_under_five() -> None:
    withdrawals = [
        named(n, "repaired", n, T.WITHDRAWAL, S.REDIRECT) for n in range(1, 4)
    ]  # repaired in 1, 2, 3
    withdrawals += [
        named(4, "settled", None, T.WITHDRAWAL),
        named(5, "manual", None, T.WITHDRAWAL, S.REDIRECT),
    ]
    confrontations = [
        named(6, "repaired", 2, T.CONFRONTATION, S.REDIRECT),
        named(7, None, None, T.CONFRONTATION),
    ]
    untagged = [named(8, "repaired", 1, None)]
    found = clinic_figures([client("c-1", withdrawals + confrontations + untagged, [2])], NOW, window_days=90)
    summary = clinic_summary(found, active_days=90)
    by_type = {row.tag: row for row in summary.repair_by_rupture_type}
    assert list(by_type) == ["withdrawal", "confrontation", "both"]
    withdrawal = by_type["withdrawal"]
    assert (withdrawal.closed_episodes, withdrawal.repaired_count, withdrawal.comparable) == (5, 3, True)
    assert (withdrawal.repair_rate, withdrawal.median_sessions_to_repair) == (0.6, 2)
    confrontation = by_type["confrontation"]  # its open episode is not closed: one closed episode
    assert (confrontation.closed_episodes, confrontation.repaired_count, confrontation.comparable) == (
        1,
        1,
        False,
    )
    assert confrontation.repair_rate is None and confrontation.median_sessions_to_repair is None
    assert (by_type["both"].episodes, by_type["both"].closed_episodes) == (0, 0)
    by_strategy = {row.tag: row for row in summary.repair_by_strategy}
    assert len(by_strategy) == len(S)
    redirect = by_strategy["redirect"]
    assert (redirect.closed_episodes, redirect.repaired_count, redirect.repair_rate) == (5, 4, 0.8)
    assert TOO_FEW_TO_COMPARE == 5
