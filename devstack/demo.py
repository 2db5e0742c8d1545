"""Demo history for the clinician views: a few clients of clinic `demo` over ten weekly sessions each.

The history goes through the real pipeline: one ``POST /v1/events:batch`` to the feedback service with the
demo key, then Kafka, then scoring. It holds a rupture and its repair, a stale episode, a blind spot and two
steady clients, over two therapists. Seeding is skipped when scoring already knows the demo clients.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SESSIONS = 10
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
ORS_ITEMS = ("individual", "interpersonal", "social", "overall")


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    therapist_id: str
    srs: tuple[float, ...]  # the client's SRS total per session
    therapist_srs: tuple[float, ...]  # the therapist's own SRS total of the same session
    ors: tuple[float, ...]  # the client's ORS total at the start of each session
    story: str


CLIENTS: tuple[DemoClient, ...] = (
    DemoClient(
        "c-rupture-repair",
        "t-demo-1",
        (37.5, 38.0, 37.8, 38.2, 31.0, 33.5, 37.0, 38.0, 38.5, 38.4),
        (37.0, 37.5, 38.0, 38.0, 35.0, 34.5, 36.5, 37.5, 38.0, 38.0),
        (21.0, 22.0, 23.5, 24.0, 23.0, 24.0, 26.0, 27.5, 28.0, 29.0),
        "a steep drop at session 5, repaired two sessions later",
    ),
    DemoClient(
        "c-stale",
        "t-demo-1",
        (37.0, 37.5, 37.2, 36.8, 31.5, 32.5, 33.0, 32.5, 33.0, 32.5),
        (37.5, 37.5, 37.0, 37.0, 35.5, 35.0, 35.5, 36.0, 35.5, 36.0),
        (24.0, 24.5, 25.0, 25.0, 23.0, 22.5, 22.0, 21.5, 21.0, 21.0),
        "falls well below their usual at session 5 and stays there: the episode goes stale",
    ),
    DemoClient(
        "c-steady",
        "t-demo-1",
        (38.0, 38.5, 38.2, 38.8, 39.0, 38.6, 39.1, 38.9, 39.2, 39.4),
        (38.0, 38.0, 38.5, 38.5, 38.5, 39.0, 39.0, 39.0, 39.0, 39.5),
        (26.0, 27.0, 28.0, 28.5, 29.0, 30.0, 30.5, 31.0, 32.0, 32.5),
        "a steady alliance and improving outcome",
    ),
    DemoClient(
        "c-blind-spot",
        "t-demo-2",
        (37.2, 37.6, 37.4, 37.8, 37.5, 37.9, 37.6, 31.5, 31.8, 31.6),
        (38.0, 38.5, 38.5, 39.0, 39.0, 39.5, 39.5, 39.8, 39.5, 39.6),
        (25.0, 25.5, 26.0, 26.0, 26.5, 27.0, 27.0, 26.0, 25.5, 25.0),
        "the client's ratings fall below the cutoff while the therapist rates them far higher: a blind spot",
    ),
    DemoClient(
        "c-steady-2",
        "t-demo-2",
        (36.5, 37.0, 37.5, 37.2, 37.8, 38.0, 38.1, 37.9, 38.3, 38.5),
        (37.0, 37.0, 37.5, 37.5, 38.0, 38.0, 38.0, 38.5, 38.5, 38.5),
        (20.0, 21.0, 22.0, 23.5, 24.0, 25.5, 26.0, 27.0, 28.5, 29.0),
        "a steady alliance",
    ),
)


def spread(total: float, names: tuple[str, ...] = SRS_ITEMS) -> dict[str, float]:
    """``total`` over the items in tenths, larger parts first (37.5 -> 9.4, 9.4, 9.4, 9.3)."""
    part, remainder = divmod(round(total * 10), len(names))
    return {name: (part + (1 if i < remainder else 0)) / 10 for i, name in enumerate(names)}


def session_times(now: datetime) -> list[datetime]:
    """Weekly, the last one three days before ``now`` (on the hour, 10:00 UTC)."""
    last = (now - timedelta(days=3)).astimezone(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    return [last - timedelta(weeks=SESSIONS - 1 - n) for n in range(SESSIONS)]


def history(now: datetime, clients: tuple[DemoClient, ...] = CLIENTS) -> list[dict[str, Any]]:
    """Every demo event as an item of ``POST /v1/events:batch``."""
    items: list[dict[str, Any]] = []
    times = session_times(now)
    for client in clients:
        for n, at in enumerate(times):
            ids = {
                "session_id": f"{client.client_id}-s{n + 1:02d}",
                "therapist_id": client.therapist_id,
                "client_id": client.client_id,
            }
            moment = at.isoformat()
            items.append(
                {
                    "type": "session.completed",
                    "data": {**ids, "occurred_at": moment, "attendance": "attended", "scheduled_minutes": 50},
                }
            )
            for instrument, respondent, total, names in (
                ("ors", "client", client.ors[n], ORS_ITEMS),
                ("srs", "client", client.srs[n], SRS_ITEMS),
                ("srs", "therapist", client.therapist_srs[n], SRS_ITEMS),
            ):
                items.append(
                    {
                        "type": "feedback.submitted",
                        "data": {
                            **ids,
                            "session_at": moment,
                            "instrument": instrument,
                            "respondent": respondent,
                            "items": spread(total, names),
                        },
                    }
                )
    return items


# ---- seeding through the running services ------------------------------------------------------------------


class DemoError(Exception):
    pass


def _call(method: str, url: str, api_key: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {api_key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _until(
    attempt: Callable[[], tuple[int, Any]], done: Callable[[int, Any], bool], within: float
) -> tuple[int, Any]:
    deadline = time.monotonic() + within
    while True:
        status, answer = attempt()
        if done(status, answer) or time.monotonic() > deadline:
            return status, answer
        time.sleep(0.5)


def seed(feedback_url: str, scoring_url: str, api_key: str, say: Callable[[str], None]) -> None:
    """Send the demo history unless scoring already has it, then wait until scoring applied all of it."""
    last = CLIENTS[-1].client_id
    status, _ = _call("GET", f"{scoring_url}/v1/clients/{last}/alliance", api_key)
    if status == 200:
        say("demo history: already there")
        return
    now = datetime.now(UTC)
    items = history(now)
    # The demo key was just published on clinic.keys: the services pick it up within moments.
    status, answer = _until(
        lambda: _call("POST", f"{feedback_url}/v1/events:batch", api_key, {"events": items}),
        lambda code, _: code not in (401, 503),
        within=30.0,
    )
    if status != 200 or not answer or answer.get("accepted") != len(items):
        raise DemoError(f"the feedback service did not accept the demo history (HTTP {status}): {answer}")

    def applied(code: int, alliance: Any) -> bool:
        return code == 200 and alliance["summary"]["client_srs_count"] == SESSIONS

    status, _ = _until(
        lambda: _call("GET", f"{scoring_url}/v1/clients/{last}/alliance", api_key), applied, within=60.0
    )
    if status != 200:
        raise DemoError("scoring did not apply the demo history within 60 s")
    say(f"demo history: {len(CLIENTS)} clients over {SESSIONS} sessions each")
    _share_demo_note(feedback_url, api_key, session_times(now))


# The client whose own page the demo links to, and the note their therapist shared after the latest session.
PAGE_CLIENT = "c-steady"
DEMO_NOTE = (
    "Today we looked at what helps you on hard mornings: the short walk and calling your sister.\n"
    "Next steps: try the walk on three mornings this week, and we will start with how it went."
)


def _share_demo_note(feedback_url: str, api_key: str, times: list[datetime]) -> None:
    client = next(c for c in CLIENTS if c.client_id == PAGE_CLIENT)
    note = {
        "note_id": "n-demo-1",
        "session_id": f"{client.client_id}-s{len(times):02d}",
        "therapist_id": client.therapist_id,
        "client_id": client.client_id,
        "session_at": times[-1].isoformat(),
        "text": DEMO_NOTE,
    }
    status, answer = _call("POST", f"{feedback_url}/v1/notes", api_key, note)
    if status != 202:
        raise DemoError(f"the feedback service did not take the demo note (HTTP {status}): {answer}")


def view_links(scoring_url: str, api_key: str) -> dict[str, str]:
    """Signed links to a client view and each caseload, and the clinic view's sign-in page."""
    links: dict[str, str] = {}
    requests: list[tuple[str, dict[str, str]]] = [
        (
            f"client {c.client_id}",
            {"view": "client", "client_id": c.client_id, "therapist_id": c.therapist_id},
        )
        for c in CLIENTS
        if c.client_id in ("c-rupture-repair", "c-stale", "c-blind-spot")
    ]
    for therapist in sorted({c.therapist_id for c in CLIENTS}):
        requests.append((f"caseload {therapist}", {"view": "caseload", "therapist_id": therapist}))
    for name, body in requests:
        status, answer = _call("POST", f"{scoring_url}/v1/view-links", api_key, body)
        if status == 200:
            links[name] = answer["url"]
    return links


def print_links(scoring_url: str, api_key: str, say: Callable[[str], None], env: Mapping[str, str]) -> None:
    links = view_links(scoring_url, api_key)
    if not links:
        say("clinician views: no links (is the demo history there?)")
        return
    say("clinician views (signed links, valid 14 days; each opens only its own view):")
    for name, url in links.items():
        say(f"  {name:<26} {url}")
    public = env.get("SCORING_PUBLIC_URL", scoring_url).rstrip("/")
    say(f"  {'clinic (supervisors)':<26} {public}/views/sign-in   (sign in with the demo key and any id)")
    status, answer = _call("POST", f"{scoring_url}/v1/client-links", api_key, {"client_id": PAGE_CLIENT})
    if status == 201:
        say(f"a client's own page (what {PAGE_CLIENT} sees; valid 30 days):")
        say(f"  {PAGE_CLIENT:<26} {answer['url']}")
