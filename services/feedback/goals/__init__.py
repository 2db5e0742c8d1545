"""The clients' goals (Goal-Based Outcomes): read from ``client.events``, kept in MongoDB, shown on gbo forms."""

from services.feedback.goals.reader import goals_group, read_goals
from services.feedback.goals.state import ActiveGoal, ClientGoals, SessionRef
from services.feedback.goals.store import COLLECTION, GoalStore

__all__ = ["COLLECTION", "ActiveGoal", "ClientGoals", "GoalStore", "SessionRef", "goals_group", "read_goals"]
