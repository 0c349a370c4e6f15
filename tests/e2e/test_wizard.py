"""The dialog helper expresses a multi-step wizard: each step answered by typed text, checked,
carried to the next step in the database, across a restart, and left by /cancel.

The wizard here is a test's own (registered like any flow's steps); the authoring wizards
(/newcourse, lessons) are built the same way.
"""

from __future__ import annotations

from telegram import Update

from db.accounts import Profile, touch_user
from db.dialogs import close_dialog, open_dialog
from db.errors import Invalid, Reason
from handlers.common import Context, Turn, dialog_step
from tests.e2e.conftest import BotHarness

KIND = "test-profile"


@dialog_step(KIND, "name", cancelled="Profile abandoned.")
async def on_name(update: Update, context: Context, turn: Turn) -> None:
    name = (update.effective_message.text or "").strip()
    open_dialog(turn.user, KIND, step="age", name=name)
    turn.reply(f"Hello {name}. Your age?")


@dialog_step(KIND, "age", cancelled="Profile abandoned.")
async def on_age(update: Update, context: Context, turn: Turn) -> None:
    assert turn.dialog is not None
    text = (update.effective_message.text or "").strip()
    if not text.isdigit():
        raise Invalid(Reason.type_your_answer)  # asked again; the step stands
    close_dialog(turn.user)
    turn.reply(f"{turn.dialog.data['name']} is {text}.")


async def start_wizard(bot: BotHarness, user_id: int) -> None:
    """What a button would do: open the wizard at its first step."""
    async with bot.database.session() as session:
        user = await touch_user(session, Profile(user_id, None, "Ann", "en"))
        open_dialog(user, KIND, step="name")


async def test_a_wizard_keeps_its_steps_across_a_restart(bot: BotHarness):
    ann = bot.emulator.user(7001, "Ann")
    await start_wizard(bot, ann.id)
    [asked] = await ann.send("Ann")
    assert asked.text == "Hello Ann. Your age?"
    await bot.restart()
    [again] = await ann.send("thirty")
    assert again.text == "Please type your answer to this question."
    [done] = await ann.send("30")
    assert done.text == "Ann is 30."
    [after] = await ann.send("31")
    assert "did not understand" in after.text, "the wizard is over"


async def test_cancel_leaves_a_wizard_half_way_with_its_own_words(bot: BotHarness):
    ann = bot.emulator.user(7002, "Ann")
    await start_wizard(bot, ann.id)
    await ann.send("Ann")
    [cancelled] = await ann.send("/cancel")
    assert cancelled.text == "Profile abandoned."
    [after] = await ann.send("30")
    assert "did not understand" in after.text
