"""Local stack manager: a real Kafka (KRaft) and mongod (replica set rs0) as plain processes, plus the services.

Used by the CLI (``python -m devstack up|run|infra|down|status|install``) and by pytest fixtures::

    stack = Stack(profile="test")
    stack.ensure_installed()
    stack.start_infra()
    ...
    stack.stop()
"""

from devstack.errors import StackError
from devstack.stack import ProcessStatus, Stack

__all__ = ["ProcessStatus", "Stack", "StackError"]
