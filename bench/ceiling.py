"""The raw ceiling: a bare aiokafka consumer reading the same events in batches and writing one MongoDB
upsert per event with ``bulk_write``, committing after each batch. No decoding beyond the key, no domain."""

import time

from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient, UpdateOne

from bench.kafka_io import fresh_name


async def raw_ceiling(bootstrap: str, mongodb_uri: str, topic: str, expected: int) -> float:
    """Events per second from the first batch to the last commit."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=fresh_name("ceiling"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_uri)
    collection = client[fresh_name("ceiling").replace("-", "_")]["clients"]
    await consumer.start()
    seen, started = 0, 0.0
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            records = [record for batch in batches.values() for record in batch]
            if not records:
                continue
            started = started or time.monotonic()
            await collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": r.key.decode()},
                        {"$inc": {"events": 1}, "$set": {"last": r.offset}},
                        upsert=True,
                    )
                    for r in records
                ],
                ordered=False,
            )
            await consumer.commit()
            seen += len(records)
        return seen / (time.monotonic() - started)
    finally:
        await consumer.stop()
        await client.drop_database(collection.database.name)
        await client.close()
