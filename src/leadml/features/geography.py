"""Countries normalised to ISO 3166 alpha-2 codes and grouped into sales regions."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pycountry

# Names pycountry does not know: common short forms and German names seen in CRM exports.
ALIASES = {
    "uk": "GB", "england": "GB", "great britain": "GB", "scotland": "GB", "wales": "GB", "holland": "NL",
    "deutschland": "DE", "schweiz": "CH", "suisse": "CH", "österreich": "AT", "oesterreich": "AT",
    "frankreich": "FR", "niederlande": "NL", "spanien": "ES", "italien": "IT", "schweden": "SE",
    "polen": "PL", "vereinigte staaten": "US", "america": "US", "u.s.": "US", "u.s.a.": "US",
    "russia": "RU", "south korea": "KR", "korea": "KR", "uae": "AE", "czech republic": "CZ",
}
DACH = {"DE", "AT", "CH", "LI"}
EUROPE = {"GB", "IE", "FR", "BE", "NL", "LU", "ES", "PT", "IT", "MT", "GR", "CY", "DK", "SE", "NO", "FI", "IS",
          "PL", "CZ", "SK", "HU", "SI", "HR", "RO", "BG", "EE", "LV", "LT", "RS", "BA", "ME", "MK", "AL", "UA",
          "MD", "BY", "RU", "MC", "SM", "AD", "VA"}
NORTH_AMERICA = {"US", "CA"}
LATIN_AMERICA = {"MX", "BR", "AR", "CL", "CO", "PE", "UY", "PY", "BO", "EC", "VE", "CR", "PA", "GT", "HN", "SV",
                 "NI", "DO", "CU", "PR", "JM", "TT"}
ASIA_PACIFIC = {"AU", "NZ", "JP", "CN", "HK", "TW", "KR", "SG", "MY", "TH", "VN", "PH", "ID", "IN", "PK", "BD",
                "LK", "NP", "MN", "KH", "LA", "MM"}
REGIONS = (("dach", DACH), ("europe", EUROPE), ("north_america", NORTH_AMERICA),
           ("latin_america", LATIN_AMERICA), ("asia_pacific", ASIA_PACIFIC))


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """Return the alpha-2 code for a country code, alpha-3 code or name; None when unknown."""
    text = value.strip()
    if not text:
        return None
    if text.lower() in ALIASES:
        return ALIASES[text.lower()]
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def region_of(code: str | None) -> str | None:
    if code is None:
        return None
    return next((name for name, members in REGIONS if code in members), "middle_east_africa")


def normalise_countries(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (alpha-2 code, sales region) per value, missing where the country is unknown."""
    uniques = pd.unique(values.dropna())
    codes = {value: country_code(str(value)) for value in uniques}
    code = values.map(codes).astype("str")
    regions = {c: region_of(c) for c in pd.unique(code.dropna())}  # once per code, not per lead
    return code, code.map(regions).astype("str")
