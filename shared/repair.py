"""Naming a rupture and its repair (DOMAIN.md version 2), in the terms of the Rupture Resolution Rating System
(Eubanks, Muran & Safran): the type of the rupture and the repair strategies the therapist used. Tags given when
acknowledging or resolving an episode; every service and view says them in the words below."""

from enum import StrEnum


class RuptureType(StrEnum):
    WITHDRAWAL = "withdrawal"
    CONFRONTATION = "confrontation"
    BOTH = "both"


class RepairStrategy(StrEnum):
    CLARIFY_MISUNDERSTANDING = "clarify_misunderstanding"
    CHANGE_TASK_OR_GOAL = "change_task_or_goal"
    EXPLAIN_RATIONALE = "explain_rationale"
    INVITE_DISCUSSION = "invite_discussion"
    ACKNOWLEDGE_OWN_PART = "acknowledge_own_part"
    VALIDATE_DEFENSIVENESS = "validate_defensiveness"
    LINK_TO_PATTERNS = "link_to_patterns"
    REDIRECT = "redirect"


TYPE_WORDS = {
    RuptureType.WITHDRAWAL: "withdrawal (moving away: minimal answers, shifting topic, deferring)",
    RuptureType.CONFRONTATION: "confrontation (moving against: complaints, rejecting interventions, pressure)",
    RuptureType.BOTH: "both withdrawal and confrontation",
}
STRATEGY_WORDS = {
    RepairStrategy.CLARIFY_MISUNDERSTANDING: "clarified a misunderstanding",
    RepairStrategy.CHANGE_TASK_OR_GOAL: "changed the task or goal",
    RepairStrategy.EXPLAIN_RATIONALE: "explained the rationale",
    RepairStrategy.INVITE_DISCUSSION: "invited discussion of the relationship",
    RepairStrategy.ACKNOWLEDGE_OWN_PART: "acknowledged own part",
    RepairStrategy.VALIDATE_DEFENSIVENESS: "validated the client's defensiveness",
    RepairStrategy.LINK_TO_PATTERNS: "linked it to the client's patterns",
    RepairStrategy.REDIRECT: "redirected",
}
