"""Announcing a new lesson to the students of its course (instructors and admins).

📣 Announce (under "lesson added", and on a lesson's card) asks to confirm with the message
students will get and how many will get it; Confirm starts a campaign (``db.campaigns``) that
the shared paced sender delivers after the commit. Each lesson is announced at most once, and
the instructor is told how many students were reached when it is done.
"""

from __future__ import annotations

from telegram import Bot, Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.campaigns import announce_lesson, announcement
from db.models import Role
from handlers.common import Context, Turn, button


@button(Action.lesson_announce, role=Role.instructor)
async def on_announce(update: Update, context: Context, turn: Turn) -> None:
    offer = await announcement(turn.session, turn.user, turn.args[0])
    turn.show(
        texts.announce_prompt(offer.lesson.title, offer.course.title, offer.recipients),
        keyboards.confirm(Action.lesson_announce_confirm, Action.lesson_manage, offer.lesson.id),
    )


@button(Action.lesson_announce_confirm, role=Role.instructor)
async def on_announce_confirmed(update: Update, context: Context, turn: Turn) -> None:
    offer = await announcement(turn.session, turn.user, turn.args[0])
    campaign, recipients = await announce_lesson(
        turn.session,
        turn.user,
        offer.lesson.id,
        text=texts.announcement(offer.course.title, offer.lesson.title),
        report_chat_id=turn.chat_id,
    )
    pushes = context.services.pushes

    async def send(bot: Bot) -> None:
        pushes.start(bot, campaign.id)

    turn.answer(texts.ANNOUNCING_TOAST)
    turn.show(texts.announcing(recipients), keyboards.back_to_lesson(offer.lesson.id))
    turn.after(send)
