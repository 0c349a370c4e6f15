"""/settings through the chat: reminders on or off, the hour, the time zone typed as a name or a
city (with suggestions), stopped courses turned back on; all in one message, edited in place."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.callbacks import Action, encode
from bot.emulator.users import ChatMessage, TestUser
from db.accounts import get_user
from db.learning import enroll
from db.models import Enrollment, User, utcnow
from db.usersettings import stop_course_reminders
from tests.e2e.conftest import BotHarness, has_button, simple_course


async def settings_of(bot: BotHarness, telegram_id: int) -> User:
    async with bot.database.session() as session:
        return await get_user(session, telegram_id)


async def open_settings(bot: BotHarness, telegram_id: int = 3001) -> tuple[TestUser, ChatMessage]:
    ann = bot.emulator.user(telegram_id, "Ann")
    await ann.send("/start")
    [card] = await ann.send("/settings")
    return ann, card


def shows_local_time(card: ChatMessage, zone: str) -> bool:
    """The card shows the time it is in ``zone`` (either side of a minute turning)."""
    now = utcnow()
    times = {(now + timedelta(seconds=s)).astimezone(ZoneInfo(zone)) for s in (-60, 0, 60)}
    return any(moment.strftime("%H:%M") in card.text for moment in times)


async def test_settings_switch_hour_and_zone_edit_one_message(bot: BotHarness):
    ann, card = await open_settings(bot)
    assert "Reminders: on" in card.text and "18:00" in card.text and "UTC" in card.text
    assert shows_local_time(card, "UTC")
    messages = len(ann.bot_messages)

    await ann.press("Turn reminders off", message=card)
    assert "Reminders: off" in card.text and has_button(card, "Turn reminders on")
    await ann.press("Reminder hour", message=card)
    assert has_button(card, "07:00") and has_button(card, "✅ 18:00")
    await ann.press("07:00", message=card)
    assert "Reminder hour: 07:00" in card.text
    await ann.press("Time zone", message=card)
    assert "city" in card.text
    assert await ann.send("Berlin") == [], "the settings message is edited, nothing new"
    assert "Europe/Berlin" in card.text and shows_local_time(card, "Europe/Berlin")
    await ann.press("Turn reminders on", message=card)
    assert "Reminders: on" in card.text

    assert len(ann.bot_messages) == messages, "everything happened in the one message"
    user = await settings_of(bot, ann.id)
    assert (user.reminders_enabled, user.reminder_hour, user.timezone) == (
        True,
        7,
        "Europe/Berlin",
    )


async def test_an_unknown_zone_is_asked_again_and_a_misspelled_city_gets_suggestions(
    bot: BotHarness,
):
    ann, card = await open_settings(bot)
    await ann.press("Time zone", message=card)
    await ann.send("Xyzzyq")
    assert "Xyzzyq" in card.text and "don't know" in card.text
    await ann.send("Berln")
    assert "Did you mean" in card.text and has_button(card, "Europe/Berlin")
    assert (await settings_of(bot, ann.id)).timezone == "UTC", "nothing set yet"
    answer = await ann.press("Europe/Berlin", message=card)
    assert answer is not None and not answer.show_alert
    assert "Time zone: Europe/Berlin" in card.text
    assert (await settings_of(bot, ann.id)).timezone == "Europe/Berlin"

    await ann.press("Time zone", message=card)
    await ann.send("Portland")  # Oregon or Maine?
    assert has_button(card, "America/Los_Angeles") and has_button(card, "America/New_York")
    await ann.send("america/new_york")  # typing again still answers the prompt
    assert "Time zone: America/New_York" in card.text
    assert (await settings_of(bot, ann.id)).timezone == "America/New_York"
    assert len(ann.bot_messages) == 2, "the welcome, and the settings edited in place"


async def test_cancel_leaves_the_time_zone_dialog(bot: BotHarness):
    ann, card = await open_settings(bot)
    await ann.press("Time zone", message=card)
    [cancelled] = await ann.send("/cancel")
    assert "unchanged" in cancelled.text
    [reply] = await ann.send("Tokyo")
    assert "did not understand" in reply.text
    assert (await settings_of(bot, ann.id)).timezone == "UTC"


async def test_back_from_the_pickers_shows_the_settings_again(bot: BotHarness):
    ann, card = await open_settings(bot)
    await ann.press("Reminder hour", message=card)
    await ann.press("Back", message=card)
    assert "Reminders: on" in card.text
    await ann.press("Time zone", message=card)
    await ann.press("Back", message=card)
    assert "Reminders: on" in card.text
    [reply] = await ann.send("Tokyo")  # Back left the dialog
    assert "did not understand" in reply.text
    assert len(ann.bot_messages) == 3, "the welcome, the settings and that reply"


async def test_stopped_courses_are_listed_and_can_be_turned_back_on(bot: BotHarness):
    course = await bot.course(simple_course())
    ann = bot.emulator.user(3001, "Ann")
    await ann.send("/start")
    async with bot.database.session() as session:
        user = await get_user(session, ann.id)
        await enroll(session, user, course.id)
        await stop_course_reminders(session, user, course.id)
    [card] = await ann.send("/settings")
    assert "stopped" in card.text and has_button(card, "Resume: Python Basics")
    await ann.press("Resume: Python Basics", message=card)
    assert not has_button(card, "Resume")
    async with bot.database.session() as session:
        enrollment = await session.get(Enrollment, 1, populate_existing=True)
        assert enrollment is not None and enrollment.reminders_enabled


async def test_forged_settings_buttons_change_nothing(bot: BotHarness):
    course = await bot.course(simple_course())
    ann, card = await open_settings(bot)
    bob = bot.emulator.user(3002, "Bob")
    await bob.send("/start")
    async with bot.database.session() as session:
        await enroll(session, await get_user(session, bob.id), course.id)
    forged = [
        encode(Action.settings_hour, 24),
        encode(Action.settings_hour, 2**31 - 1),
        "set:hour:-1",
        "set:hour:7x",
        encode(Action.settings_reminders, 2),
        encode(Action.settings_zone_pick, text="Mars/Olympus_Mons"),
        encode(Action.settings_zone_pick, text="../../etc/passwd"),
        encode(Action.reminders_stop, course.id),  # Bob's enrollment, not Ann's
        encode(Action.reminders_resume, course.id),
        encode(Action.reminders_stop, 2**31 - 1),
    ]
    for data in forged:
        answer = await ann.press_data(data, card.message_id)
        assert answer is not None and answer.show_alert, (data, answer)
    user = await settings_of(bot, ann.id)
    assert (user.reminders_enabled, user.reminder_hour, user.timezone) == (True, 18, "UTC")
    async with bot.database.session() as session:
        enrollment = await session.get(Enrollment, 1, populate_existing=True)
        assert enrollment is not None and enrollment.reminders_enabled
    assert re.search(r"Reminders: on", card.text)
