"""Bing's markets (locales): the known list, validation and the default choice."""

from __future__ import annotations

import locale as _locale
from collections.abc import Mapping

from desktop_app.core.errors import UnknownMarketError

DEFAULT_MARKET = "en-US"

# The markets Bing's picture-of-the-day service answers for. About a dozen have their
# own pictures; the others are served the worldwide (ROW / en-WW) set.
MARKETS: Mapping[str, str] = {
    "ar-XA": "Arabic (Arabia)",
    "da-DK": "Danish (Denmark)",
    "de-AT": "German (Austria)",
    "de-CH": "German (Switzerland)",
    "de-DE": "German (Germany)",
    "en-AU": "English (Australia)",
    "en-CA": "English (Canada)",
    "en-GB": "English (United Kingdom)",
    "en-ID": "English (Indonesia)",
    "en-IE": "English (Ireland)",
    "en-IN": "English (India)",
    "en-MY": "English (Malaysia)",
    "en-NZ": "English (New Zealand)",
    "en-PH": "English (Philippines)",
    "en-SG": "English (Singapore)",
    "en-US": "English (United States)",
    "en-WW": "English (worldwide)",
    "en-XA": "English (Arabia)",
    "en-ZA": "English (South Africa)",
    "es-AR": "Spanish (Argentina)",
    "es-CL": "Spanish (Chile)",
    "es-ES": "Spanish (Spain)",
    "es-MX": "Spanish (Mexico)",
    "es-US": "Spanish (United States)",
    "es-XL": "Spanish (Latin America)",
    "et-EE": "Estonian (Estonia)",
    "fi-FI": "Finnish (Finland)",
    "fr-BE": "French (Belgium)",
    "fr-CA": "French (Canada)",
    "fr-CH": "French (Switzerland)",
    "fr-FR": "French (France)",
    "he-IL": "Hebrew (Israel)",
    "hr-HR": "Croatian (Croatia)",
    "hu-HU": "Hungarian (Hungary)",
    "it-IT": "Italian (Italy)",
    "ja-JP": "Japanese (Japan)",
    "ko-KR": "Korean (Korea)",
    "lt-LT": "Lithuanian (Lithuania)",
    "lv-LV": "Latvian (Latvia)",
    "nb-NO": "Norwegian Bokmål (Norway)",
    "nl-BE": "Dutch (Belgium)",
    "nl-NL": "Dutch (Netherlands)",
    "pl-PL": "Polish (Poland)",
    "pt-BR": "Portuguese (Brazil)",
    "pt-PT": "Portuguese (Portugal)",
    "ro-RO": "Romanian (Romania)",
    "ru-RU": "Russian (Russia)",
    "sk-SK": "Slovak (Slovakia)",
    "sl-SL": "Slovenian (Slovenia)",
    "sv-SE": "Swedish (Sweden)",
    "th-TH": "Thai (Thailand)",
    "tr-TR": "Turkish (Türkiye)",
    "uk-UA": "Ukrainian (Ukraine)",
    "zh-CN": "Chinese (China)",
    "zh-HK": "Chinese (Hong Kong SAR)",
    "zh-TW": "Chinese (Taiwan)",
}

# Markets that Bing gives pictures of their own; the rest get the worldwide set.
OWN_PICTURES = frozenset(
    {
        "de-DE",
        "en-CA",
        "en-GB",
        "en-IN",
        "en-US",
        "es-ES",
        "fr-CA",
        "fr-FR",
        "it-IT",
        "ja-JP",
        "pt-BR",
        "zh-CN",
    }
)

_BY_FOLDED = {code.casefold(): code for code in MARKETS}


def normalise_market(value: str) -> str:
    """Return the canonical spelling of a market (``en_us`` -> ``en-US``) or raise."""
    code = _BY_FOLDED.get(value.strip().replace("_", "-").casefold())
    if code is None:
        raise UnknownMarketError(value)
    return code


def market_from_locale_name(name: str | None) -> str | None:
    """Map a POSIX or Windows locale name (``de_DE.UTF-8``, ``fr-CA``) to a market."""
    if not name:
        return None
    base = name.split(".", 1)[0].split("@", 1)[0]
    if base in ("C", "POSIX", ""):
        return None
    return _BY_FOLDED.get(base.replace("_", "-").casefold())


def system_market(env: Mapping[str, str]) -> str | None:
    """The market matching the user's locale, if there is one."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            # The first non-empty variable in POSIX's order decides, known market or not.
            return market_from_locale_name(value)
    try:
        name = _locale.getlocale()[0]
    except ValueError:
        return None
    return market_from_locale_name(name)


def default_market(settings_market: str | None, env: Mapping[str, str]) -> str:
    """``--locale`` absent: the settings' main market, else the system's, else en-US."""
    if settings_market:
        return normalise_market(settings_market)
    return system_market(env) or DEFAULT_MARKET
