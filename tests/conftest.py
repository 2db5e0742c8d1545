import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support.servers import Servers, test_servers

# The key-encryption key every service started by the tests (in this process or as a child) wraps its data
# keys with; a test of rotation or of a wrong key sets its own.
TEST_KEKS = "test-1:" + "dGVzdC1rZWstb25seS1mb3ItdGhlLXRlc3RzLTMyYiE="
os.environ.setdefault("ALLIANCE_KEKS", TEST_KEKS)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """A real Kafka broker and a real mongod for the whole session (see tests/support/servers.py)."""
    with test_servers() as found:
        yield found


@pytest.fixture
def unique() -> str:
    """A short random suffix so each test's clinics, clients and databases are its own."""
    return uuid.uuid4().hex[:10]
