"""What a service built to start is frozen out of the collector's full collections, in a worker as alone."""

import gc

import pytest
from fastapi import FastAPI

from shared.serve import APP_FACTORY, worker_app

BUILT: list[FastAPI] = []


def make_app() -> FastAPI:
    app = FastAPI()
    BUILT.append(app)
    return app


def test_a_worker_builds_its_app_from_the_factory_named_and_freezes_what_it_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(APP_FACTORY, f"{__name__}:make_app")
    gc.unfreeze()
    try:
        app = worker_app()

        assert [app] == BUILT
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
