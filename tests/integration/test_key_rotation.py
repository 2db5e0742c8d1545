"""Key-encryption keys: words sealed before and after a rotation open, also once the old KEK is gone and the
data keys were re-wrapped; a missing or wrong KEK stops a service at start-up with a clear error."""

import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared import mongo
from shared.privacy.keys import COLLECTION, DataKeys, KeyConfigurationError, KeyEncryptionKeys
from shared.privacy.words import open_words, seal
from shared.settings import ServiceSettings
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
OLD, NEW = (
    f"old:{base64.b64encode(os.urandom(32)).decode()}",
    f"new:{base64.b64encode(os.urandom(32)).decode()}",
)


@pytest.fixture
async def db(servers: Servers, unique: str) -> AsyncIterator[AsyncDatabase[mongo.Document]]:
    settings = ServiceSettings(mongodb_uri=servers.mongodb_uri, mongodb_database=f"keys_{unique}")
    client = mongo.connect(settings)
    try:
        yield mongo.database(client, settings)
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()


def keys(db: AsyncDatabase[mongo.Document], keks: str) -> DataKeys:
    """A fresh process's view: nothing cached."""
    return DataKeys(db[COLLECTION], KeyEncryptionKeys.parse(keks))


async def sealed_by(data_keys: DataKeys, client_id: str, words: str) -> str:
    return seal(
        await data_keys.key_for("clinic-a", client_id), "clinic-a", client_id, f"e-{client_id}", words
    )


async def opened(data_keys: DataKeys, client_id: str, value: str) -> str:
    return open_words(await data_keys.find("clinic-a", client_id), "clinic-a", client_id, value)


async def test_words_open_across_a_rotation_and_after_the_old_kek_is_removed(
    db: AsyncDatabase[mongo.Document],
) -> None:
    before = await sealed_by(keys(db, OLD), "c-before", "written before the rotation")
    # Rotation, step 1: the new KEK first (it wraps new data keys), the old one still there to unwrap.
    rotating = keys(db, f"{NEW},{OLD}")
    await rotating.verify()
    after = await sealed_by(rotating, "c-after", "written after the rotation")
    assert await opened(rotating, "c-before", before) == "written before the rotation"
    assert await opened(rotating, "c-after", after) == "written after the rotation"
    assert sorted(await db[COLLECTION].distinct("kek")) == ["new", "old"]

    # Step 2: re-wrap every data key with the new KEK; step 3: remove the old KEK.
    rewrapped = await keys(db, f"{NEW},{OLD}").rewrap()
    assert (rewrapped.total, rewrapped.rewrapped) == (2, 1)
    assert await db[COLLECTION].distinct("kek") == ["new"]
    rotated = keys(db, NEW)
    await rotated.verify()
    assert await opened(rotated, "c-before", before) == "written before the rotation"
    assert await opened(rotated, "c-after", after) == "written after the rotation"

    # Too early a removal, or a wrong key under the right id, is caught before anything is read.
    with pytest.raises(KeyConfigurationError, match=r"KEK 'new'.*does not hold"):
        await keys(db, OLD).verify()
    wrong = f"new:{base64.b64encode(os.urandom(32)).decode()}"
    with pytest.raises(KeyConfigurationError, match="wrong key"):
        await keys(db, wrong).verify()


@pytest.mark.parametrize(
    ("keks", "message"),
    [
        ("", "ALLIANCE_KEKS is not set"),
        ("one:c2hvcnQ=", "has 5 bytes, not 32"),
        ("no-separator", "is not id:base64"),
    ],
)
def test_a_service_without_a_usable_kek_does_not_start(keks: str, message: str) -> None:
    environment = {**os.environ, "ALLIANCE_KEKS": keks}
    started = subprocess.run(
        [sys.executable, "-m", "services.scoring"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert message in started.stderr


def test_new_kek_prints_a_key_that_alliance_keks_accepts() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "services.scoring.lifecycle.cli", "new-kek"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    keks = KeyEncryptionKeys.parse(printed.stdout.strip())
    assert len(keks.keys) == 1 and len(keks.keys[0][1]) == 32
