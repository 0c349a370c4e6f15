"""A time zone from what people type: an IANA name, a city, or a near miss.

``Europe/Berlin`` in any case is found as it is; ``Berlin``, ``new york`` or ``Zürich`` by the
city part of the tz database's names; a few big cities it does not name (``Munich``) and names
it gives to several places (``Portland``) by a small table. Anything else gets the closest
names (``difflib``) as suggestions, or nothing. Whether a name is valid is decided in
``db.usersettings`` (``zoneinfo``); this module only finds candidates.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from db.usersettings import ZONE_NAME_LIMIT, known_zones

REGIONS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
# The places people live in: region names (and UTC), which suggestions are taken from.
CANONICAL_ZONES = tuple(
    sorted(name for name in known_zones() if name.split("/")[0] in REGIONS or name == "UTC")
)

# Big cities the tz database does not name, and city names of several places.
CITIES: dict[str, tuple[str, ...]] = {
    "utc": ("UTC",),
    "gmt": ("UTC",),
    "munich": ("Europe/Berlin",),
    "hamburg": ("Europe/Berlin",),
    "frankfurt": ("Europe/Berlin",),
    "cologne": ("Europe/Berlin",),
    "milan": ("Europe/Rome",),
    "barcelona": ("Europe/Madrid",),
    "geneva": ("Europe/Zurich",),
    "manchester": ("Europe/London",),
    "edinburgh": ("Europe/London",),
    "st petersburg": ("Europe/Moscow",),
    "saint petersburg": ("Europe/Moscow",),
    "istanbul": ("Europe/Istanbul",),
    "nicosia": ("Asia/Nicosia",),
    "tel aviv": ("Asia/Jerusalem",),
    "abu dhabi": ("Asia/Dubai",),
    "mumbai": ("Asia/Kolkata",),
    "delhi": ("Asia/Kolkata",),
    "new delhi": ("Asia/Kolkata",),
    "bangalore": ("Asia/Kolkata",),
    "bengaluru": ("Asia/Kolkata",),
    "beijing": ("Asia/Shanghai",),
    "shenzhen": ("Asia/Shanghai",),
    "osaka": ("Asia/Tokyo",),
    "cape town": ("Africa/Johannesburg",),
    "rio de janeiro": ("America/Sao_Paulo",),
    "montreal": ("America/Toronto",),
    "ottawa": ("America/Toronto",),
    "calgary": ("America/Edmonton",),
    "washington": ("America/New_York",),
    "boston": ("America/New_York",),
    "miami": ("America/New_York",),
    "atlanta": ("America/New_York",),
    "philadelphia": ("America/New_York",),
    "houston": ("America/Chicago",),
    "dallas": ("America/Chicago",),
    "austin": ("America/Chicago",),
    "san francisco": ("America/Los_Angeles",),
    "seattle": ("America/Los_Angeles",),
    "las vegas": ("America/Los_Angeles",),
    "san diego": ("America/Los_Angeles",),
    "portland": ("America/Los_Angeles", "America/New_York"),  # Oregon, Maine
    "san jose": ("America/Los_Angeles", "America/Costa_Rica"),
    "birmingham": ("Europe/London", "America/Chicago"),
    "cambridge": ("Europe/London", "America/New_York"),
}

MAX_SUGGESTIONS = 6
_CLOSE = 0.75  # difflib's similarity a near miss needs


@dataclass(frozen=True)
class Found:
    """The zone when the text names exactly one; else the candidates to choose from."""

    zone: str | None
    suggestions: tuple[str, ...] = ()


def _key(text: str) -> str:
    """Lower case, without accents, punctuation or underscores: ``Zürich!`` → ``zurich``."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = re.sub(r"[^\w/+-]+|_", " ", plain.lower())
    return " ".join(plain.split())


@functools.cache
def _iana() -> dict[str, str]:
    """Every valid name by its lower-case spelling."""
    return {name.lower(): name for name in known_zones()}


@functools.cache
def _cities() -> dict[str, tuple[str, ...]]:
    """City (the last part of a name, or from ``CITIES``) → its zones.

    Where several names end in the same city, the tz database renamed it (America/Buenos_Aires
    became America/Argentina/Buenos_Aires): the longest name is the current one.
    """
    found: defaultdict[str, list[str]] = defaultdict(list)
    for name in CANONICAL_ZONES:
        found[_key(name.rsplit("/", 1)[-1])].append(name)
    cities = {city: (max(names, key=lambda n: (n.count("/"), n)),) for city, names in found.items()}
    cities.update(CITIES)
    return cities


@functools.cache
def _candidates() -> dict[str, tuple[str, ...]]:
    """What a near miss is compared with: cities, and the region names spelled as keys."""
    return {**{_key(name): (name,) for name in CANONICAL_ZONES}, **_cities()}


def find_timezone(text: str) -> Found:
    text = text.strip()
    if not text or len(text) > ZONE_NAME_LIMIT:
        return Found(None)
    if exact := _iana().get(text.replace(" ", "_").lower()):
        return Found(exact)
    key = _key(text)
    if not key:
        return Found(None)
    zones = _cities().get(key)
    if zones is not None:
        return Found(zones[0]) if len(zones) == 1 else Found(None, zones)
    candidates = _candidates()
    close = difflib.get_close_matches(key, candidates, n=MAX_SUGGESTIONS, cutoff=_CLOSE)
    suggestions = dict.fromkeys(zone for match in close for zone in candidates[match])
    return Found(None, tuple(suggestions)[:MAX_SUGGESTIONS])


def local_time(zone: str, now: datetime) -> datetime:
    """``now`` on the clocks of ``zone`` (UTC for a name that is no zone)."""
    return now.astimezone(ZoneInfo(zone) if zone in known_zones() else UTC)
