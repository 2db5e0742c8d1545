from shared.auth import KeyRing, Scope, hash_key

INGEST = frozenset({Scope.INGEST})


def test_a_known_key_names_its_clinic_and_scopes() -> None:
    ring = KeyRing()
    ring.apply(hash_key("key-of-clinic-a-0001"), "clinic-a", INGEST, revoked=False)

    principal = ring.authenticate("key-of-clinic-a-0001")

    assert principal is not None
    assert principal.clinic_id == "clinic-a"
    assert principal.scopes == INGEST
    assert principal.key_id == hash_key("key-of-clinic-a-0001")[:12]
    assert ring.authenticate("key-of-clinic-a-0002") is None


def test_a_revoked_key_stops_working_and_stays_listed() -> None:
    ring = KeyRing()
    ring.apply(hash_key("k" * 20), "clinic-a", INGEST, revoked=False)
    ring.apply(hash_key("k" * 20), "clinic-a", INGEST, revoked=True)

    assert ring.authenticate("k" * 20) is None
    assert ring.keys_of("clinic-a") == [(hash_key("k" * 20), INGEST, True)]


def test_a_key_never_moves_to_another_clinic() -> None:
    ring = KeyRing()
    ring.apply(hash_key("k" * 20), "clinic-a", INGEST, revoked=False)
    ring.apply(hash_key("k" * 20), "clinic-b", frozenset(Scope), revoked=False)

    principal = ring.authenticate("k" * 20)
    assert principal is not None and principal.clinic_id == "clinic-a"
    assert ring.keys_of("clinic-b") == []
