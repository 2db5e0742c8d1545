"""Who recognised a rupture, in the plain words every view and alert uses (DOMAIN.md version 2): the values
of ``recognised_by`` on ``rupture.suspected`` and on the episode views."""

RECOGNITION_WORDS = {
    "client": "recognised by the client only: the client reported tension the therapist did not",
    "therapist": "recognised by the therapist only: the therapist reported tension the client did not",
    "both": "recognised by both: the client reported tension, and the therapist reported it too or acknowledged it",
    "neither": "not named by either yet: only the ratings show it",
}
