"""The clinic-settings API body names every threshold of the domain, each with a description."""

from dataclasses import fields

import pytest

from services.scoring.clinic_settings import ThresholdValues
from services.scoring.domain import SETTING_NAMES, InvalidThresholds, Thresholds


def test_the_api_names_exactly_the_domain_s_thresholds() -> None:
    # The settings view lists every threshold in force: a domain field the body lacks would fail it.
    assert set(ThresholdValues.model_fields) == set(SETTING_NAMES)
    # Every field but the fitted trajectories, which are loaded with the settings and are not one.
    assert set(SETTING_NAMES) == {field.name for field in fields(Thresholds)} - {"trajectories"}


def test_fitted_trajectories_are_not_a_setting_a_clinic_can_send() -> None:
    with pytest.raises(InvalidThresholds, match="trajectories"):
        Thresholds.from_mapping({"trajectories": None})


def test_every_setting_is_described() -> None:
    undescribed = [name for name, field in ThresholdValues.model_fields.items() if not field.description]
    assert undescribed == []


def test_the_push_horizon_is_a_whole_number_of_days() -> None:
    assert ThresholdValues.model_validate({"push_horizon_days": 30}).push_horizon_days == 30
    assert ThresholdValues().push_horizon_days is None  # not given: the clinic keeps the default
