"""Every refusal db/ can raise has words, and those words take exactly the data it carries."""

from __future__ import annotations

import string

import pytest

from bot.texts import REFUSALS, refusal
from db.errors import Conflict, Reason


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_is_worded(reason: Reason):
    fields = {name for _, name, _, _ in string.Formatter().parse(REFUSALS[reason]) if name}
    data = {name: 2 for name in fields - {"minutes_unit"}}
    worded = refusal(Conflict(reason, **data))
    assert worded and "{" not in worded and "_" not in worded.replace("/cancel", "")


def test_the_minutes_of_a_lockout_read_naturally():
    assert refusal(Conflict(Reason.too_many_guesses, minutes=1)).endswith("in 1 minute.")
    assert refusal(Conflict(Reason.too_many_guesses, minutes=15)).endswith("in 15 minutes.")
