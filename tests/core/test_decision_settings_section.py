"""The user's decision settings reach the decision unchanged, the command line's overrides win, and values the
decision refuses are refused with a sentence."""

from __future__ import annotations

import pytest

from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.settings import Settings
from lmscales.core.settings.decision_section import DecisionSection, decision_settings
from lmscales.core.settings.fields import SettingValueError


def test_every_setting_reaches_the_decision_and_overrides_win() -> None:
    section = DecisionSection(volume_per_month=2_500, hardware_cost=900.0, hardware_months=24,
                              translation_chrf_min=61.0, summary_facts_min_percent=70.0, margin_points=3.0,
                              min_items=20)
    made = decision_settings(section, 0.25)
    assert made == DecisionSettings(volume_per_month=2_500, hardware_cost=900.0, hardware_months=24,
                                    translation_chrf_min=61.0, summary_key_facts_min=70.0, margin_points=3.0,
                                    min_items=20, electricity_price_per_kwh=0.25)
    assert decision_settings(section, 0.25, volume_per_month=40, hardware_cost=None).volume_per_month == 40
    assert decision_settings(section, 0.25, hardware_cost=None).hardware_cost == 900.0  # None: not given


def test_the_defaults_are_the_decisions_and_live_in_the_settings_file() -> None:
    assert decision_settings(Settings().decision, None) == DecisionSettings()
    changed = Settings().with_value("decision.volume_per_month", 123)
    assert changed.decision.volume_per_month == 123


def test_out_of_range_values_are_refused_with_a_sentence() -> None:
    with pytest.raises(SettingValueError, match="translation_chrf_min"):
        DecisionSection(translation_chrf_min=101.0)
    with pytest.raises(ValueError, match="monthly volume must not be negative"):
        decision_settings(DecisionSection(), None, volume_per_month=-1)
