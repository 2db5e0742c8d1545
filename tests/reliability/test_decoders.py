"""Every contract decoder, on arbitrary bytes and arbitrary JSON: a ContractViolation or a decoded event,
never any other exception (a consumer dead-letters the first and would crash on anything else)."""

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.contracts import ALL_KINDS, ContractViolation, EventKind

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def envelopes(kind: EventKind[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly-right envelopes, so the body's validation is reached, not only the envelope's."""
    return st.fixed_dictionaries(
        {
            "specversion": st.sampled_from(["1.0", "0.3", 1]),
            "id": st.text(max_size=5) | st.just("e-1"),
            "source": st.just("/tests"),
            "type": st.sampled_from(
                [kind.type_name(v) for v in range(1, kind.latest_version + 2)] + ["x", ""]
            ),
            "clinicid": st.sampled_from(["c-1", "$where", "", "a\x00b"]),
            "data": json_values | st.dictionaries(st.text(max_size=12), json_values, max_size=8),
        },
        optional={"time": st.text(max_size=30), "subject": json_values, "dataschema": json_values},
    )


def decodes_or_refuses(kind: EventKind[Any], raw: bytes | str | dict[str, Any]) -> None:
    with contextlib.suppress(ContractViolation):
        kind.decode(raw)


@SETTINGS
@given(kind=st.sampled_from(ALL_KINDS), raw=st.binary(max_size=300))
def test_arbitrary_bytes(kind: EventKind[Any], raw: bytes) -> None:
    decodes_or_refuses(kind, raw)


@SETTINGS
@given(kind=st.sampled_from(ALL_KINDS), value=json_values)
def test_arbitrary_json(kind: EventKind[Any], value: Any) -> None:
    decodes_or_refuses(kind, json.dumps(value))


@SETTINGS
@given(data=st.data())
def test_near_valid_envelopes(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(ALL_KINDS))
    document = data.draw(envelopes(kind))
    decodes_or_refuses(kind, json.dumps(document))
    decodes_or_refuses(kind, document)
