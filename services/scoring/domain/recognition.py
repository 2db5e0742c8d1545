"""Who recognised a rupture (version 2): the client, the therapist, both, or neither yet.

Therapists often miss what clients experience, and a rupture the therapist recognised lost its link with the
next session's symptoms (DOMAIN.md "Rupture reports from both sides"), so every episode says who saw it. The
client recognises it by reporting tension (a ``reported_rupture`` in the episode); the therapist by reporting
tension in any of its sessions, or by acknowledging the alert.
"""

from __future__ import annotations

from enum import Enum


class Recognition(Enum):
    NEITHER = "neither"  # only the scores say so: nobody has named it yet
    CLIENT = "client"
    THERAPIST = "therapist"
    BOTH = "both"

    @classmethod
    def of(cls, client: bool, therapist: bool) -> Recognition:
        if client and therapist:
            return cls.BOTH
        if client:
            return cls.CLIENT
        return cls.THERAPIST if therapist else cls.NEITHER

    @property
    def by_client(self) -> bool:
        return self in (Recognition.CLIENT, Recognition.BOTH)

    @property
    def by_therapist(self) -> bool:
        return self in (Recognition.THERAPIST, Recognition.BOTH)
