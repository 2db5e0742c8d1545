"""The socket several workers share turns Nagle's algorithm off on every connection it accepts, as the socket of a
single worker does (asyncio sets TCP_NODELAY only on sockets that report IPPROTO_TCP)."""

import asyncio
import socket

import uvicorn

from shared.serve import listening_socket


async def nodelay_of_accepted(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Report, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        nodelay = await asyncio.wait_for(accepted, 5)
        writer.close()
        return nodelay
    finally:
        server.close()
        await server.wait_closed()


def test_the_shared_socket_reports_tcp_and_its_connections_get_nodelay() -> None:
    config = uvicorn.Config("shared.serve:serve", host="127.0.0.1", port=0)
    listener = listening_socket(config)
    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(nodelay_of_accepted(listener)) == 1


def test_uvicorns_own_bound_socket_does_not() -> None:
    # The mechanism the fix is for; if uvicorn fixes its socket, this fails and listening_socket can go.
    bound = uvicorn.Config("shared.serve:serve", host="127.0.0.1", port=0).bind_socket()
    assert bound.proto == 0
    assert asyncio.run(nodelay_of_accepted(bound)) == 0
