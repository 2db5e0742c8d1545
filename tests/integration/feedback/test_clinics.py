"""`alliance create-clinic`: a new clinic's first key works at once; an existing clinic is not re-created."""

import asyncio

import pytest

from services.feedback.admin import main
from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import session

pytestmark = pytest.mark.integration


async def test_create_clinic_prints_a_working_key_once(
    intake: Intake, unique: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", intake.kafka_bootstrap)
    clinic_id = f"new-{unique}"
    await asyncio.to_thread(main, ["create-clinic", clinic_id])
    api_key = capsys.readouterr().out.strip().splitlines()[-1]

    for _ in range(50):  # the key reaches the running service through clinic.keys
        answer = await intake.http.post(
            "/v1/sessions", json=session("c-1"), headers={"Authorization": f"Bearer {api_key}"}
        )
        if answer.status_code != 401:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 202

    with pytest.raises(SystemExit) as refused:
        await asyncio.to_thread(main, ["create-clinic", clinic_id])
    assert refused.value.code == 1
    assert "already exists" in capsys.readouterr().err
