"""The electricity zone's default follows the system locale's country where EcoLogits has a mix for it, else
the world mix; the settings hold "auto" or a zone, and the price of a kWh."""

from __future__ import annotations

import pytest

from lmscales.core import electricity
from lmscales.core.settings import Settings, SettingValueError


@pytest.mark.parametrize(("locales", "zone"), [
    (["fr_FR.UTF-8"], "FRA"), (["de_CH@euro"], "CHE"), (["en-US"], "USA"), (["zh-Hans-CN"], "CHN"),
    (["sr_RS@latin"], "SRB"), (["C", None, "pt_BR.UTF-8"], "BRA"),  # the first that names a country
    (["C.UTF-8", "POSIX"], "WOR"), (["English_United States"], "WOR"),  # no code to read: the world's mix
    (["en_AQ.UTF-8"], "WOR"),  # Antarctica: EcoLogits has no mix for it
    ([], "WOR"),
])
def test_the_default_zone_comes_from_the_locale(locales: list[str | None], zone: str) -> None:
    assert electricity.zone_for_locales(locales) == zone


def test_auto_follows_the_locale_and_a_chosen_zone_is_kept() -> None:
    assert electricity.resolve_zone("auto", ["ja_JP.UTF-8"]) == "JPN"
    assert electricity.resolve_zone("SWE", ["ja_JP.UTF-8"]) == "SWE"


def test_the_locale_table_names_exactly_the_zones_ecologits_has() -> None:
    from ecologits.electricity_mix_repository import electricity_mixes

    assert set(electricity.ZONES) == {mix.zone for mix in electricity_mixes.list_electricity_mixes()}


def test_the_settings_hold_the_zone_and_the_price() -> None:
    settings = Settings()
    assert settings.energy.electricity_zone == "auto" and settings.energy.electricity_price == 0.30
    assert settings.with_value("energy.electricity_zone", "FRA").energy.electricity_zone == "FRA"
    with pytest.raises(SettingValueError):
        settings.with_value("energy.electricity_zone", "France")
    with pytest.raises(SettingValueError):
        settings.with_value("energy.electricity_price", -1.0)
