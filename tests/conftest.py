import uuid
from collections.abc import Iterator

import pytest

from tests.support.servers import Servers, test_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """A real Kafka broker and a real mongod for the whole session (see tests/support/servers.py)."""
    with test_servers() as found:
        yield found


@pytest.fixture
def unique() -> str:
    """A short random suffix so each test's clinics, clients and databases are its own."""
    return uuid.uuid4().hex[:10]
