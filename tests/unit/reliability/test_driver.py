"""The reliability driver's promises, against small local servers: each client's items in stream order and one
at a time, different clients concurrently within the bound, retries with the same Idempotency-Key until the
item's deadline, every item reported accepted or rejected with the answers counted; and its HTTP/1.1 client's
reading of answers, dropped connections and keep-alive."""

import asyncio
import json
import socket
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from reliability.driver import Answer, Connections, DriveReport, TransportError, drive
from reliability.stream import StreamItem

KEYS = {"clinic-1": "key-1"}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]

    def json(self) -> Any:
        return json.loads(self.body)


# What the server does with a request: the bytes of its answer, or None to close the connection unanswered.
Respond = Callable[[Received], Awaitable[bytes | None]]


def answer(status: int, body: Any, chunked: bool = False, close: bool = False) -> bytes:
    content = json.dumps(body).encode()
    fields = ["Content-Type: application/json", *(["Connection: close"] if close else [])]
    if chunked:  # in two chunks, one with an extension, and a trailer field
        half = len(content) // 2
        fields.append("Transfer-Encoding: chunked")
        framed = b"".join(
            [
                *(b"%x;note=1\r\n" % half, content[:half], b"\r\n"),
                *(b"%x\r\n" % (len(content) - half), content[half:], b"\r\n"),
                b"0\r\nX-Trailer: 1\r\n\r\n",
            ]
        )
    else:
        fields.append(f"Content-Length: {len(content)}")
        framed = content
    head = "".join(f"{field}\r\n" for field in fields)
    return f"HTTP/1.1 {status} Whatever\r\n{head}\r\n".encode() + framed


def accepted(request: Received) -> bytes:
    return answer(202, {"id": f"event-{request.key}"})


@asynccontextmanager
async def service(respond: Respond) -> AsyncIterator[tuple[str, list[int]]]:
    """A keep-alive HTTP/1.1 server on a free port; yields its URL and the requests seen per connection."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(0)
        number = len(connections) - 1
        try:
            while not reader.at_eof():
                try:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                except asyncio.IncompleteReadError:
                    return
                fields = dict(line.split(": ", 1) for line in head[1:] if line)
                headers = {name.lower(): value for name, value in fields.items()}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                connections[number] += 1
                reply = await respond(Received(head[0].split(" ")[1], headers, body))
                if reply is None:
                    return
                writer.write(reply)
                await writer.drain()
                if reply.startswith(b"HTTP/1.0") or b"\r\nConnection: close\r\n" in reply:
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", connections


def stream(clients: int, per_client: int) -> list[StreamItem]:
    """Week by week across the clients, as the generated streams are."""
    return [
        StreamItem(f"c{c}-i{i}", "feedback", "clinic-1", {"client_id": f"c{c}", "n": i})
        for i in range(per_client)
        for c in range(clients)
    ]


async def run(
    items: list[StreamItem],
    respond: Respond,
    rate: float = 2000.0,
    concurrency: int = 32,
    item_deadline: float = 120.0,
    batched: tuple[str, ...] = (),
) -> DriveReport:
    async with service(respond) as (url, _):
        return await drive(
            url,
            KEYS,
            items,
            rate=rate,
            item_deadline=item_deadline,
            progress_every=0,
            concurrency=concurrency,
            batched=batched,
        )


# ---- the driver ------------------------------------------------------------------------------------------


async def test_each_clients_items_arrive_in_order_one_at_a_time_and_clients_overlap() -> None:
    items = stream(clients=12, per_client=6)
    arrived: dict[str, list[int]] = defaultdict(list)
    in_flight: Counter[str] = Counter()
    most = {"all": 0, "one_client": 0}

    async def respond(request: Received) -> bytes:
        client, number = request.json()["client_id"], request.json()["n"]
        in_flight[client] += 1
        most["one_client"] = max(most["one_client"], in_flight[client])
        most["all"] = max(most["all"], sum(in_flight.values()))
        arrived[client].append(number)
        await asyncio.sleep(0.01)
        in_flight[client] -= 1
        return accepted(request)

    report = await run(items, respond, concurrency=4)

    assert len(arrived) == 12 and all(numbers == list(range(6)) for numbers in arrived.values())
    assert most["one_client"] == 1
    assert 1 < most["all"] <= 4
    assert len(report.accepted) == report.acknowledged == len(items) and not report.rejected
    assert report.accepted["c3-i2"] == "event-c3-i2"


async def test_a_clients_next_item_waits_for_the_previous_ones_retries_to_end() -> None:
    items = stream(clients=2, per_client=3)
    attempts: Counter[str] = Counter()
    order: list[str] = []

    async def respond(request: Received) -> bytes | None:
        attempts[request.key] += 1
        order.append(request.key)
        if request.key == "c0-i0" and attempts[request.key] <= 2:
            return answer(503, {"detail": "the event store is unavailable"})
        if request.key == "c0-i1" and attempts[request.key] == 1:
            return None  # the service died mid-request
        if request.key == "c1-i1" and attempts[request.key] == 1:
            return answer(409, {"detail": "still being processed"})
        return accepted(request)

    report = await run(items, respond)

    assert [key for key in order if key.startswith("c0-")] == [
        *("c0-i0", "c0-i0", "c0-i0", "c0-i1", "c0-i1", "c0-i2")
    ]
    assert order.index("c1-i0") < order.index("c0-i1")  # the other client did not wait for c0's retries
    assert len(report.accepted) == report.acknowledged == 6
    assert report.unavailable == 2 and report.answers[409] == 1 and report.transport_errors == 1
    assert report.retries == 4


async def test_every_attempt_is_the_same_request() -> None:
    items = stream(clients=1, per_client=1)
    seen: list[tuple[str, str, str, bytes]] = []

    async def respond(request: Received) -> bytes:
        seen.append((request.path, request.key, request.headers["authorization"], request.body))
        return answer(500, {"detail": "boom"}) if len(seen) < 3 else accepted(request)

    await run(items, respond)

    assert len(seen) == 3 and len(set(seen)) == 1
    assert seen[0][:3] == ("/v1/feedback", "c0-i0", "Bearer key-1")
    assert json.loads(seen[0][3]) == items[0].body


async def test_a_refusal_or_a_passed_deadline_is_reported_never_dropped() -> None:
    items = stream(clients=2, per_client=2)

    async def respond(request: Received) -> bytes:
        if request.key == "c0-i0":
            return answer(422, {"detail": "bad field"})
        if request.key == "c1-i0":
            return answer(503, {"detail": "unavailable"})
        return accepted(request)

    report = await run(items, respond, item_deadline=0.3)

    assert report.rejected["c0-i0"].startswith("422: ")
    assert report.rejected["c1-i0"] == "deadline passed while the service was unavailable"
    assert set(report.accepted) == {"c0-i1", "c1-i1"}  # each client goes on after its rejected item
    assert report.acknowledged == 2 and report.unavailable >= 2


def batch_answer(request: Received, unavailable: frozenset[int] = frozenset()) -> bytes:
    """The batch endpoint's answer: every item accepted with an id derived from the key, but ``unavailable``."""
    results = [
        {"index": i, "status": "unavailable"}
        if i in unavailable
        else {"index": i, "status": "accepted", "id": f"{request.key}/{i}"}
        for i in range(len(request.json()["events"]))
    ]
    return answer(503 if unavailable else 200, {"results": results})


async def test_batched_a_clinics_items_go_in_stream_order_one_batch_at_a_time_resent_whole() -> None:
    items = stream(clients=5, per_client=8)
    batches: list[Received] = []
    in_flight = Counter[str]()
    most = 0

    async def respond(request: Received) -> bytes:
        nonlocal most
        in_flight["clinic-1"] += 1
        most = max(most, in_flight["clinic-1"])
        batches.append(request)
        await asyncio.sleep(0.02)  # items come due meanwhile, and go in the next batch
        in_flight["clinic-1"] -= 1
        if len(batches) == 2:
            return batch_answer(request, unavailable=frozenset({0}))  # Kafka took only some: resend all
        return batch_answer(request)

    report = await run(items, respond, rate=400.0, batched=("clinic-1",))

    assert most == 1 and all(b.path == "/v1/events:batch" for b in batches)
    assert batches[2].body == batches[1].body and batches[2].key == batches[1].key  # the same request again
    sent = [b for i, b in enumerate(batches) if i != 1]
    assert [(e["type"], e["data"]) for b in sent for e in b.json()["events"]] == [
        ("feedback.submitted", item.body) for item in items
    ]  # each item once, in stream order
    assert max(len(b.json()["events"]) for b in sent) > 1
    assert len({b.key for b in sent}) == len(sent)
    assert len(report.accepted) == report.acknowledged == len(items) == report.accepted_in_batches
    assert report.unavailable == 1 and report.retries == 1
    first = sent[0]
    assert report.accepted[items[0].item_id] == f"{first.key}/0"


async def test_only_the_batching_clinics_send_batches() -> None:
    items = [
        StreamItem(f"{clinic}-c{c}-i{i}", "feedback", clinic, {"client_id": f"c{c}", "n": i})
        for i in range(3)
        for c in range(2)
        for clinic in ("clinic-1", "clinic-2")
    ]
    paths: Counter[str] = Counter()

    async def respond(request: Received) -> bytes:
        paths[request.path] += 1
        return batch_answer(request) if request.path == "/v1/events:batch" else accepted(request)

    async with service(respond) as (url, _):
        report = await drive(
            url,
            {"clinic-1": "k1", "clinic-2": "k2"},
            items,
            rate=2000.0,
            progress_every=0,
            batched=["clinic-2"],
        )

    assert paths["/v1/feedback"] == 6 and 1 <= paths["/v1/events:batch"] <= 6
    assert report.answers[202] == 6 and report.accepted_in_batches == 6 and report.acknowledged == 12


async def test_batched_a_rejected_item_is_reported_and_the_rest_accepted() -> None:
    items = stream(clients=1, per_client=1)

    async def respond(request: Received) -> bytes:
        results = [{"index": 0, "status": "rejected", "errors": [{"field": "data.n", "reason": "bad"}]}]
        return answer(200, {"results": results})

    report = await run(items, respond, batched=("clinic-1",))

    assert report.rejected[items[0].item_id].startswith("rejected: ")
    assert not report.accepted and report.acknowledged == 0


async def test_items_leave_at_the_rate_and_the_report_says_what_was_achieved() -> None:
    items = stream(clients=10, per_client=4)

    async def respond(request: Received) -> bytes:
        return accepted(request)

    report = await run(items, respond, rate=200.0)

    assert report.seconds >= (len(items) - 1) / 200
    assert report.achieved_rate == len(report.accepted) / report.seconds
    assert 50 < report.achieved_rate <= 200 * 1.05
    assert report.cpu_seconds > 0
    assert "40 accepted, 0 rejected" in report.summary()


def test_the_longest_stall_is_the_longest_stretch_without_an_acceptance() -> None:
    report = DriveReport(started=100.0, seconds=10.0)
    report.accepted_at = {"a": 101.0, "b": 102.0, "c": 107.0, "d": 109.5}

    assert report.longest_stall == 5.0  # from 102 to 107
    report.accepted_at["e"] = 104.0
    assert report.longest_stall == 3.0
    assert DriveReport(started=5.0, seconds=4.0).longest_stall == 4.0  # nothing accepted at all


# ---- its HTTP/1.1 client ---------------------------------------------------------------------------------


async def post(connections: Connections, body: Any = None) -> Answer:
    return await connections.post("/v1/feedback", json.dumps(body or {}).encode(), {"Idempotency-Key": "k"})


async def test_answers_of_every_framing_are_read_and_the_connection_kept_when_it_may_be() -> None:
    replies = [
        answer(202, {"id": "a"}),
        answer(202, {"id": "b"}, chunked=True),
        answer(503, {"detail": "c"}, close=True),
        answer(202, {"id": "d"}),
    ]

    async def respond(request: Received) -> bytes:
        return replies.pop(0)

    async with service(respond) as (url, connections), Connections(url, 1) as http:
        answers = [await post(http) for _ in range(4)]

    assert [(a.status_code, a.json()) for a in answers] == [
        (202, {"id": "a"}),
        (202, {"id": "b"}),
        (503, {"detail": "c"}),
        (202, {"id": "d"}),
    ]
    assert connections == [3, 1]  # a new connection after "Connection: close"


async def test_an_answer_that_ends_with_the_connection_is_read_to_its_end() -> None:
    async def respond(request: Received) -> bytes:
        return b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"id": "e"}'

    async with service(respond) as (url, connections), Connections(url, 1) as http:
        answers = [await post(http) for _ in range(2)]

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"id": "e"})] * 2
    assert connections == [1, 1]


@pytest.mark.parametrize(
    "reply", [None, b"HTTP/1.1 202 Accepted\r\nContent-Length: 40\r\n\r\n{}", b"SMTP ready\r\n\r\n"]
)
async def test_a_dropped_cut_short_or_unreadable_answer_is_a_transport_error_and_the_next_request_works(
    reply: bytes | None,
) -> None:
    replies: list[bytes | None] = [reply, answer(202, {"id": "f"})]

    async def respond(request: Received) -> bytes | None:
        return replies.pop(0)

    async with service(respond) as (url, connections), Connections(url, 1, timeout=0.5) as http:
        with pytest.raises(TransportError):  # the one cut short waits for the rest until the timeout
            await post(http)
        second = await post(http)

    assert second.json() == {"id": "f"} and len(connections) == 2


async def test_no_service_and_no_answer_in_time_are_transport_errors() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with Connections(f"http://127.0.0.1:{port}", 1) as http:
        with pytest.raises(TransportError, match="ConnectionRefused"):
            await post(http)

    async def silent(request: Received) -> bytes:
        await asyncio.sleep(5)
        return accepted(request)

    async with service(silent) as (url, _), Connections(url, 1, timeout=0.2) as http:
        with pytest.raises(TransportError, match="TimeoutError"):
            await post(http)


async def test_a_keep_alive_connection_the_server_closed_while_idle_is_replaced_unseen() -> None:
    """Against uvicorn, as the services run: it closes a connection idle for longer than its keep-alive."""
    bodies: list[bytes] = []
    client_ports: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        bodies.append(message["body"])
        client_ports.append(scope["client"][1])
        await send({"type": "http.response.start", "status": 202, "headers": []})  # chunked: no length
        await send({"type": "http.response.body", "body": b'{"id": "g"}'})

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, timeout_keep_alive=1)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn tells it only by this flag)
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        async with Connections(url, 1) as http:
            first = await post(http, {"n": 1})
            await asyncio.sleep(1.5)
            second = await post(http, {"n": 2})
    finally:
        server.should_exit = True
        await serving
        listening.close()

    assert first.json() == second.json() == {"id": "g"}
    assert bodies == [b'{"n": 1}', b'{"n": 2}']
    assert client_ports[0] != client_ports[1]  # uvicorn did close the first connection


def test_the_report_says_how_many_items_were_accepted_in_each_ten_seconds() -> None:
    report = DriveReport(started=100.0, seconds=25.0)
    report.accepted_at = {"a": 100.5, "b": 109.9, "c": 110.0, "d": 124.9, "e": 125.0}
    assert report.accepted_per() == [2, 1, 2]  # the last item answered at the window's end counts in its last
    assert "accepted per 10 s: 2 1 2" in report.summary()
