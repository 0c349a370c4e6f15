"""Callback data round-trips and refuses anything forged."""

from __future__ import annotations

import pytest

from bot.callbacks import Action, Callback, decode, encode
from db.models import MAX_ID


@pytest.mark.parametrize("action", list(Action))
def test_every_action_round_trips_within_64_bytes(action):
    args = tuple([MAX_ID] * action.arity)
    data = encode(action, *args)
    assert len(data.encode()) <= 64
    assert decode(data) == Callback(action, args)


def test_catalog_pages_carry_the_search_text():
    data = encode(Action.catalog_page, 3, text="python: basics")
    assert decode(data) == Callback(Action.catalog_page, (3,), "python: basics")
    assert decode(encode(Action.catalog_page, 0)) == Callback(Action.catalog_page, (0,), "")
    with pytest.raises(ValueError):
        encode(Action.course_open, 1, text="x")


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "garbage",
        "crs:open",
        "crs:open:",
        "crs:open:-1",
        "crs:open:1:2",
        "crs:open:01",
        "crs:open:1e3",
        "crs:open: 1",
        "crs:delete:1",
        "qz:ans:1:2",
        "les:open:" + "9" * 60,
        f"les:open:{MAX_ID + 1}",
        f"qz:ans:1:2:{2**63}",
        "les:open:99999999999",
        "nop:1",
        "cat:page",
        "cat:page:x:abc",
    ],
)
def test_forged_data_decodes_to_nothing(forged):
    assert decode(forged) is None


def test_encode_refuses_wrong_arity_and_negatives():
    with pytest.raises(ValueError):
        encode(Action.course_open)
    with pytest.raises(ValueError):
        encode(Action.course_open, -1)
    with pytest.raises(ValueError):
        encode(Action.course_open, MAX_ID + 1)
