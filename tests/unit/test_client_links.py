"""Signed tokens (``shared.signed``), the client's page links and tickets (``shared.client_links``), and the
access log that must not keep them."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from shared.client_links import AnswerTicket, ClientPages, ClientPageSettings, RatingTicket
from shared.logging import _redact_link_tokens, redact_link_tokens
from shared.signed import TokenExpired, TokenTampered

SETTINGS = ClientPageSettings(
    secret="s3cret", page_url="https://alliance.example/", intake_url="https://in.example"
)
SESSION_AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def pages(settings: ClientPageSettings = SETTINGS) -> ClientPages:
    return ClientPages(settings)


def test_a_page_link_opens_to_its_client_for_30_days_by_default() -> None:
    link, url = pages().issue("clinic-1", "c-1")
    assert url.startswith("https://alliance.example/c/")
    opened = pages().pages.open(url.rsplit("/", 1)[1])
    assert (opened.clinic_id, opened.client_id, opened.link_id) == ("clinic-1", "c-1", link.link_id)
    assert timedelta(days=29, hours=23) < link.expires_at - datetime.now(UTC) <= timedelta(days=30)
    assert pages().issue("clinic-1", "c-1", days=2)[0].expires_at - datetime.now(UTC) <= timedelta(days=2)


def test_a_page_link_stops_opening_when_it_expires() -> None:
    link, url = pages().issue("clinic-1", "c-1", days=1)
    with pytest.raises(TokenExpired):
        pages().pages.open(url.rsplit("/", 1)[1], now=link.expires_at)


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(
            lambda token: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), id="signature-changed"
        ),
        pytest.param(lambda token: token[:10], id="truncated"),
        pytest.param(lambda token: "x" + token, id="garbage-in-front"),
    ],
)
def test_an_altered_page_link_opens_nothing(alter: object) -> None:
    token = pages().issue("clinic-1", "c-1")[1].rsplit("/", 1)[1]
    with pytest.raises(TokenTampered):
        pages().pages.open(alter(token))  # type: ignore[operator]


def test_another_secret_or_another_kind_of_token_opens_nothing() -> None:
    token = pages().issue("clinic-1", "c-1")[1].rsplit("/", 1)[1]
    other = pages(ClientPageSettings(secret="another", page_url=SETTINGS.page_url))
    with pytest.raises(TokenTampered):
        other.pages.open(token)
    # A page token is no ticket, though all three are signed with the same secret.
    with pytest.raises(TokenTampered):
        pages().answers.open(token)
    with pytest.raises(TokenTampered):
        pages().ratings.open(token)


def test_an_answer_ticket_names_one_note_and_expires_with_its_page_link() -> None:
    link, page_url = pages().issue("clinic-1", "c-1")
    url = pages().answer_url(
        link, page_url, note_id="n-1", session_id="s-1", therapist_id="t-1", session_at=SESSION_AT
    )
    assert url.startswith("https://in.example/c/answers/")
    ticket = pages().answers.open(url.rsplit("/", 1)[1])
    assert isinstance(ticket, AnswerTicket)
    assert (ticket.client_id, ticket.note_id, ticket.session_at, ticket.page_url) == (
        "c-1",
        "n-1",
        SESSION_AT,
        page_url,
    )
    assert ticket.expires_at == link.expires_at
    again = pages().answers.open(
        pages()
        .answer_url(
            link, page_url, note_id="n-1", session_id="s-1", therapist_id="t-1", session_at=SESSION_AT
        )
        .rsplit("/", 1)[1]
    )
    assert again.nonce != ticket.nonce  # each page shown answers anew


def test_a_rating_ticket_names_one_session() -> None:
    link, page_url = pages().issue("clinic-1", "c-1")
    url = pages().rating_url(link, page_url, session_id="s-9", therapist_id="t-1", session_at=SESSION_AT)
    ticket = pages().ratings.open(url.rsplit("/", 1)[1])
    assert isinstance(ticket, RatingTicket)
    assert (ticket.session_id, ticket.therapist_id, ticket.expires_at) == ("s-9", "t-1", link.expires_at)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/c/eyJhIjoxfQ.sig", "/c/[token]"),
        ("/c/answers/eyJhIjoxfQ.sig", "/c/answers/[token]"),
        ("/c/rate/eyJhIjoxfQ.sig?x=1", "/c/rate/[token]?x=1"),
        ("/f/eyJhIjoxfQ.sig", "/f/[token]"),
        ("/views/links/eyJhIjoxfQ.sig", "/views/links/[token]"),
        ("/views/clients/c-1", "/views/clients/c-1"),
        ("/v1/client-links", "/v1/client-links"),
    ],
)
def test_the_access_log_keeps_the_route_not_the_links_token(path: str, logged: str) -> None:
    assert redact_link_tokens(path) == logged
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", path, "1.1", 200),
        None,
    )
    assert _redact_link_tokens(record)
    assert record.getMessage() == f'1.2.3.4:5 - "GET {logged} HTTP/1.1" 200'
