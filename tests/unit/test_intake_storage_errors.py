"""The intake answers 503 when MongoDB cannot be reached in time, and keeps a 500 for a database bug."""

import asyncio

import pytest
from pymongo.errors import DuplicateKeyError, NetworkTimeout, ServerSelectionTimeoutError
from starlette.requests import Request

from services.feedback.app import storage_unavailable

REQUEST = Request({"type": "http", "method": "POST", "path": "/v1/feedback", "headers": []})


@pytest.mark.parametrize(
    "error",
    [ServerSelectionTimeoutError("no primary"), NetworkTimeout("timed out")],
    ids=["no-primary-in-time", "operation-timed-out"],
)
def test_an_unreachable_database_is_a_503_with_retry_after(error: Exception) -> None:
    answer = asyncio.run(storage_unavailable(REQUEST, error))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert b"same Idempotency-Key" in answer.body


def test_any_other_database_error_stays_an_error() -> None:
    with pytest.raises(DuplicateKeyError):
        asyncio.run(storage_unavailable(REQUEST, DuplicateKeyError("E11000")))
