"""Kafka plumbing: the broker, the delivery guard (dead letters and retries) and the transactional outbox."""

from shared.messaging.broker import make_broker, publish_event
from shared.messaging.delivery import DEAD_LETTERS, DeliveryGuard, TransientFailure, is_transient
from shared.messaging.lag import CONSUMER_LAG, watch_consumer_lag
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.messaging.picking import KindPicker, subscribe_picked
from shared.messaging.subscription import Delivery, subscribe, subscribe_batch

__all__ = [
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "Delivery",
    "DeliveryGuard",
    "KindPicker",
    "Outbox",
    "OutboxRelay",
    "TransientFailure",
    "is_transient",
    "make_broker",
    "publish_event",
    "subscribe",
    "subscribe_batch",
    "subscribe_picked",
    "watch_consumer_lag",
]
