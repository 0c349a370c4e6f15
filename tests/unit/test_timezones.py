"""Finding a time zone from what people type: an IANA name, a city, or a near miss."""

from __future__ import annotations

import pytest

from bot.callbacks import Action, decode, encode
from bot.timezones import CANONICAL_ZONES, find_timezone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("  europe/berlin ", "Europe/Berlin"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("utc", "UTC"),
        ("US/Eastern", "US/Eastern"),  # a legacy name is still a valid IANA name
        ("Etc/GMT-3", "Etc/GMT-3"),
    ],
)
def test_iana_names_are_found_whatever_their_case(typed: str, zone: str):
    found = find_timezone(typed)
    assert (found.zone, found.suggestions) == (zone, ())


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("Zürich", "Europe/Zurich"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("Tokyo", "Asia/Tokyo"),
        ("Munich", "Europe/Berlin"),  # a big city the tz database does not name
        ("San Francisco", "America/Los_Angeles"),
        ("Mumbai", "Asia/Kolkata"),
        ("Los Angeles!", "America/Los_Angeles"),
        ("Istanbul", "Europe/Istanbul"),
    ],
)
def test_cities_are_found(typed: str, zone: str):
    found = find_timezone(typed)
    assert (found.zone, found.suggestions) == (zone, ())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Berln", "Europe/Berlin"),
        ("Nwe York", "America/New_York"),
        ("Europe/Berlim", "Europe/Berlin"),
        ("Los Angelos", "America/Los_Angeles"),
    ],
)
def test_a_misspelled_name_gets_suggestions(typed: str, expected: str):
    found = find_timezone(typed)
    assert found.zone is None
    assert expected in found.suggestions
    assert len(found.suggestions) <= 6


def test_an_ambiguous_city_offers_every_candidate():
    found = find_timezone("Portland")
    assert found.zone is None
    assert {"America/Los_Angeles", "America/New_York"} <= set(found.suggestions)


@pytest.mark.parametrize("typed", ["Xyzzyq", "Mars/Olympus_Mons", "", "   ", "x" * 5000, "🙂"])
def test_nonsense_finds_nothing(typed: str):
    found = find_timezone(typed)
    assert (found.zone, found.suggestions) == (None, ())


def test_every_zone_fits_in_the_callback_data_of_a_suggestion():
    for zone in CANONICAL_ZONES:
        data = encode(Action.settings_zone_pick, text=zone)
        assert decode(data).text == zone
