"""Schemathesis over every operation of one service's OpenAPI document: no generated request gets a 5xx."""

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema


def fuzz_every_operation(
    schema: BaseSchema, api_key: str, max_examples: int
) -> tuple[list[str], Counter[int]]:
    """One Hypothesis run per operation (schemathesis' lazy pytest fixture does not work with pytest 9), each
    request with ``api_key``; fails on the first 5xx. Returns the operations run and the statuses seen."""
    budget = settings(
        max_examples=max_examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    tested: list[str] = []
    statuses = Counter[int]()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @budget
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {api_key}"}, checks=[not_a_server_error]
            )
            statuses[response.status_code] += 1

        no_server_error()
        tested.append(operation.label)
    return tested, statuses
