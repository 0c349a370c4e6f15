"""New messages that are not commands, and edits of old ones.

Typed text (or a file) answers the most recent prompt: the open dialog if there is one (see
``db.dialogs``), else an open text question of a quiz; anything else is not understood. An edit
is never new input.
"""

from __future__ import annotations

from telegram import Update

from bot import texts
from db.accounts import require_role
from db.models import Role
from handlers.common import ROUTES, Context, Turn, authorized
from handlers.quiz import answer_typed_text
from handlers.start import reply_unknown
from handlers.teach import import_document


@authorized(Role.student)
async def on_message(update: Update, context: Context, turn: Turn) -> None:
    """The answer to the open dialog, or to a quiz's text question, or not understood.

    A refusal while answering a dialog ends it unless the answer was merely invalid (the
    wrapper does that), so a dialog whose course or answer is gone does not linger.
    """
    step = ROUTES.step_of(turn.dialog)
    if step is not None:
        require_role(turn.user, step.role)
        await step.handle(update, context, turn)
        return
    message = update.effective_message
    if message is not None and message.text is not None:
        await answer_typed_text(turn, message.text)
        return
    if message is not None and message.document is not None and turn.user.role != Role.student:
        await import_document(update, context, turn)
        return
    reply_unknown(turn)


@authorized(Role.student)
async def on_edited(update: Update, context: Context, turn: Turn) -> None:
    """An edited message changes nothing; the user is told once per edit."""
    turn.reply(texts.EDITS_ARE_NOT_READ)


@authorized(Role.student)
async def on_unknown_command(update: Update, context: Context, turn: Turn) -> None:
    """A command no handler took (it left any open dialog, like every command)."""
    reply_unknown(turn)
