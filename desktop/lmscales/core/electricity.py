"""Where this computer's electricity comes from, and what it costs: the settings' zone and price, with no Qt and
without importing EcoLogits (the settings load at start-up; EcoLogits and pydantic load when an estimate is made).

A zone is an EcoLogits electricity-mix code: ISO 3166-1 alpha-3 for a country ("FRA"), "EEE" for Europe's
mix, "WOR" for the world's. The default follows the system locale's country where EcoLogits has a mix for it,
else the world mix; "auto" in the settings means exactly that, decided afresh at each start (a laptop that
moves keeps following its locale).
"""

from __future__ import annotations

import contextlib
import locale
import os
import re
import sys
from collections.abc import Iterable

AUTO = "auto"
WORLD = "WOR"
EUROPE = "EEE"
# What a kWh of this computer's electricity costs, in USD (the app's one currency), until the user sets
# theirs. 0.30 is above the US average household price (about 0.17) and near the EU's (about 0.29 EUR): on
# purpose, so that by default the small side's electricity is not made to look cheaper than it may be.
DEFAULT_PRICE_USD_PER_KWH = 0.30

# ISO 3166-1 alpha-2 -> alpha-3, for the countries EcoLogits 0.11.3 has an electricity mix for (taken from
# Debian's iso-codes; tests/core/test_electricity.py checks it against EcoLogits' own table).
_ALPHA3_BY_ALPHA2: dict[str, str] = dict(pair.split(":") for pair in str.split(
    "AE:ARE AF:AFG AG:ATG AL:ALB AM:ARM AO:AGO AR:ARG AS:ASM AT:AUT AU:AUS AW:ABW AZ:AZE BA:BIH BB:BRB BD:BGD "
    "BE:BEL BF:BFA BG:BGR BH:BHR BI:BDI BJ:BEN BM:BMU BN:BRN BO:BOL BR:BRA BS:BHS BT:BTN BW:BWA BY:BLR BZ:BLZ "
    "CA:CAN CD:COD CF:CAF CG:COG CH:CHE CI:CIV CK:COK CL:CHL CM:CMR CN:CHN CO:COL CR:CRI CU:CUB CV:CPV CY:CYP "
    "CZ:CZE DE:DEU DJ:DJI DK:DNK DM:DMA DO:DOM DZ:DZA EC:ECU EE:EST EG:EGY EH:ESH ER:ERI ES:ESP ET:ETH FI:FIN "
    "FJ:FJI FK:FLK FO:FRO FR:FRA GA:GAB GB:GBR GD:GRD GE:GEO GF:GUF GH:GHA GI:GIB GL:GRL GM:GMB GN:GIN GP:GLP "
    "GQ:GNQ GR:GRC GT:GTM GU:GUM GW:GNB GY:GUY HK:HKG HN:HND HR:HRV HT:HTI HU:HUN ID:IDN IE:IRL IL:ISR IN:IND "
    "IQ:IRQ IR:IRN IS:ISL IT:ITA JM:JAM JO:JOR JP:JPN KE:KEN KG:KGZ KH:KHM KI:KIR KM:COM KN:KNA KP:PRK KR:KOR "
    "KW:KWT KY:CYM KZ:KAZ LA:LAO LB:LBN LC:LCA LK:LKA LR:LBR LS:LSO LT:LTU LU:LUX LV:LVA LY:LBY MA:MAR MD:MDA "
    "ME:MNE MG:MDG MK:MKD ML:MLI MM:MMR MN:MNG MO:MAC MQ:MTQ MR:MRT MS:MSR MT:MLT MU:MUS MV:MDV MW:MWI MX:MEX "
    "MY:MYS MZ:MOZ NA:NAM NC:NCL NE:NER NG:NGA NI:NIC NL:NLD NO:NOR NP:NPL NR:NRU NZ:NZL OM:OMN PA:PAN PE:PER "
    "PF:PYF PG:PNG PH:PHL PK:PAK PL:POL PM:SPM PR:PRI PS:PSE PT:PRT PY:PRY QA:QAT RE:REU RO:ROU RS:SRB RU:RUS "
    "RW:RWA SA:SAU SB:SLB SC:SYC SD:SDN SE:SWE SG:SGP SH:SHN SI:SVN SK:SVK SL:SLE SN:SEN SO:SOM SR:SUR SS:SSD "
    "ST:STP SV:SLV SY:SYR SZ:SWZ TC:TCA TD:TCD TG:TGO TH:THA TJ:TJK TL:TLS TM:TKM TN:TUN TO:TON TR:TUR TT:TTO "
    "TW:TWN TZ:TZA UA:UKR UG:UGA US:USA UY:URY UZ:UZB VC:VCT VE:VEN VG:VGB VI:VIR VN:VNM VU:VUT WS:WSM YE:YEM "
    "ZA:ZAF ZM:ZMB ZW:ZWE"
))

ZONES: tuple[str, ...] = (WORLD, EUROPE, *sorted(_ALPHA3_BY_ALPHA2.values()))
ZONE_CHOICES: tuple[str, ...] = (AUTO, *ZONES)

# "fr_FR.UTF-8", "en-US", "de_CH@euro", "sr_RS@latin": a language, then a two-letter region.
_LOCALE = re.compile(r"^[A-Za-z]{2,3}[_-](?:[A-Za-z]{4}[_-])?([A-Za-z]{2})(?:[.@]|$)")


def locale_country(name: str | None) -> str | None:
    """The two-letter country of a locale name ("fr_FR.UTF-8" -> "FR"), or None ("C", "POSIX", "English_United
    States" as Windows' C library names it: no code to read)."""
    match = _LOCALE.match(name or "")
    return match.group(1).upper() if match else None


def zone_for_locales(names: Iterable[str | None]) -> str:
    """The zone of the first locale that names a country EcoLogits has a mix for, else the world mix."""
    for name in names:
        country = locale_country(name)
        if country is not None and country in _ALPHA3_BY_ALPHA2:
            return _ALPHA3_BY_ALPHA2[country]
    return WORLD


def system_locales() -> list[str | None]:
    """The locale names this system gives, most specific first: the environment (Unix, macOS from a terminal),
    Python's view of it, and on Windows the user's locale name ("en-US"), which its C library does not give."""
    names: list[str | None] = [os.environ.get(var) for var in ("LC_ALL", "LC_MONETARY", "LC_MESSAGES", "LANG")]
    with contextlib.suppress(ValueError):  # an unparsable locale in the environment
        names.append(locale.getlocale()[0])
    if sys.platform == "win32":
        names.insert(0, _windows_locale())
    return names


def _windows_locale() -> str | None:
    try:
        import ctypes

        buffer = ctypes.create_unicode_buffer(85)  # LOCALE_NAME_MAX_LENGTH
        if ctypes.windll.kernel32.GetUserDefaultLocaleName(buffer, len(buffer)):  # type: ignore[attr-defined]
            return buffer.value
    except (AttributeError, OSError):
        pass
    return None


def resolve_zone(setting: str, locales: Iterable[str | None] | None = None) -> str:
    """The zone a setting names; "auto" (or a zone no longer known) follows the locale."""
    if setting != AUTO and setting in ZONES:
        return setting
    return zone_for_locales(system_locales() if locales is None else locales)

