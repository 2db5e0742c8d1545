"""The network cut of reliability/nodes.py on real sockets: while a node is cut off nobody reaches it and it
reaches nobody, and every rule is gone afterwards, also when the block fails."""

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from devstack.layout import Node
from reliability import nodes

pytestmark = pytest.mark.slow
CUT = Node(3, clustered=True)  # 127.0.0.3, group 41003
PORT = 45731  # the node's own: cut off
OTHER_PORT = 45732  # on the same address, not the node's (node 1 shares 127.0.0.1 with the services)


@pytest.fixture(scope="module")
def listeners() -> Iterator[None]:
    """Servers answering 'hi': on the cut node's address and port, on another port there, and on another
    node's address."""
    servers = []
    for host, port in ((CUT.host, PORT), (CUT.host, OTHER_PORT), ("127.0.0.1", PORT)):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen()
        servers.append(server)

        def answer(server: socket.socket = server) -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    connection.sendall(b"hi")

        threading.Thread(target=answer, daemon=True).start()
    yield
    for server in servers:
        server.close()


def reaches(host: str, group: int | None = None, port: int = PORT) -> bool:
    """Does a process (of ``group``, like a node's) get an answer from ``host``?"""
    probe = f"import socket; print(socket.create_connection(('{host}', {port}), timeout=1).recv(2).decode())"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, group=group, check=False, timeout=10
    )
    return result.stdout.strip() == "hi"


def our_rules() -> list[str]:
    listed = subprocess.run(
        [nodes.IPTABLES, "-w", "-S", "OUTPUT"], capture_output=True, text=True, check=True
    )
    return [line for line in listed.stdout.splitlines() if str(CUT.group_id) in line]


def test_a_cut_node_is_unreachable_and_reaches_nobody_until_healed(listeners: None) -> None:
    assert reaches(CUT.host) and reaches("127.0.0.1", group=CUT.group_id)

    with nodes.cut_off(CUT, [PORT]):
        assert not reaches(CUT.host)  # from anyone else
        assert not reaches("127.0.0.1", group=CUT.group_id)  # from the node itself
        assert reaches("127.0.0.1")  # the rest of the network is untouched
        assert reaches(CUT.host, port=OTHER_PORT)  # and so is what else listens on the node's address
        assert len(our_rules()) == 2

    assert our_rules() == []
    assert reaches(CUT.host) and reaches("127.0.0.1", group=CUT.group_id)


def test_the_rules_are_removed_when_the_test_inside_fails(listeners: None) -> None:
    with pytest.raises(RuntimeError, match="inside"), nodes.cut_off(CUT, [PORT]):
        raise RuntimeError("a failure inside the cut")

    assert our_rules() == []
    assert reaches(CUT.host)
