"""Sending campaigns (see ``db.campaigns``): started after their transaction commits, resumed
when the bot starts, stopped without loss when it stops.

``Pushes`` runs each campaign as an asyncio task of this process, with a few workers. A worker
waits for the shared ``PacedSender``'s next slot, then claims one delivery, sends it and records
the outcome; when nothing is left the campaign is closed and whoever started it is told
(``report_chat_id``), its progress message (``report_message_id``, if any) having been edited
every few seconds meanwhile. Stopping the bot lets each worker finish the message in hand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import keyboards, texts
from bot.sender import PacedSender
from db.campaigns import (
    Tally,
    campaigns_sending,
    claim_delivery,
    finish_campaign,
    get_campaign,
    record_delivery,
    tally,
)
from db.engine import Database
from db.models import Campaign, CampaignKind, CampaignStatus

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between two edits of a campaign's progress message
WORKERS = 4  # sends in flight per campaign, all paced by the one sender
STOP_GRACE = 5.0  # seconds a stopping bot waits for the messages being sent


class Pushes:
    """The campaigns this process is sending."""

    def __init__(
        self,
        database: Database,
        sender: PacedSender,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.sender = sender
        self._clock = clock
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    def start(self, bot: Bot, campaign_id: int) -> None:
        """Send a campaign whose deliveries are committed (a no-op if it is being sent)."""
        if campaign_id in self._tasks:
            return
        task = asyncio.create_task(self._run(bot, campaign_id), name=f"campaign-{campaign_id}")
        self._tasks[campaign_id] = task
        task.add_done_callback(lambda _task: self._tasks.pop(campaign_id, None))

    async def resume(self, bot: Bot) -> None:
        """Go on with the campaigns a previous run left unfinished."""
        async with self.database.session() as session:
            unfinished = await campaigns_sending(session)
        for campaign_id in unfinished:
            log.info("Resuming campaign %s", campaign_id)
            self.start(bot, campaign_id)

    async def stop(self) -> None:
        """Stop sending (at shutdown): each worker finishes the message it is sending and
        records it, and the rest stay pending for ``resume``. One still stuck after
        ``STOP_GRACE`` seconds (a long flood wait) is cancelled; its delivery stays claimed and
        is never sent twice."""
        self._stopping.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _done, stuck = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every campaign started so far is finished (tests, the CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _run(self, bot: Bot, campaign_id: int) -> None:
        try:
            await self._send_all(bot, campaign_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Unsent deliveries stay pending: the next start of the bot resumes them.
            log.exception("Campaign %s stopped on an error", campaign_id)

    async def _send_all(self, bot: Bot, campaign_id: int) -> None:
        async with self.database.session() as session:
            campaign = await get_campaign(session, campaign_id)
        markup = keyboards.campaign_markup(campaign.payload)
        last_report = self._clock()

        async def worker() -> bool:
            """Send until nothing is left (True) or the bot stops (False)."""
            nonlocal last_report
            while True:
                await self.sender.slot()  # before the claim: nothing claimed waits here
                if self._stopping.is_set():
                    return False
                async with self.database.session() as session:
                    claimed = await claim_delivery(session, campaign_id)
                if claimed is None:
                    return True
                outcome = await self.sender.send(
                    bot,
                    claimed.telegram_id,
                    campaign.text,
                    photo=campaign.photo_file_id,
                    markup=markup,
                    slot_taken=True,
                )
                async with self.database.session() as session:
                    await record_delivery(session, claimed.delivery_id, outcome)
                due = self._clock() - last_report >= PROGRESS_EVERY
                if campaign.report_message_id and due:
                    last_report = self._clock()
                    async with self.database.session(offload=True) as session:
                        progress = await tally(session, campaign_id)
                    await _edit_progress(bot, campaign, progress)

        # Several workers, so a slow response or a database write never idles the pace.
        finished = await asyncio.gather(*(worker() for _ in range(WORKERS)))
        if not all(finished):
            return  # stopping: the rest stays pending for the next start
        async with self.database.session(offload=True) as session:
            final = await finish_campaign(session, campaign_id)
            campaign = await get_campaign(session, campaign_id)
        log.info(
            "Campaign %s (%s) finished: %s sent, %s blocked, %s failed, %s skipped",
            campaign_id,
            campaign.kind,
            final.sent,
            final.blocked,
            final.failed,
            final.skipped,
        )
        await _report(bot, campaign, final)


async def _edit_progress(
    bot: Bot, campaign: Campaign, progress: Tally, *, final: bool = False
) -> None:
    """The campaign's progress message: counts so far and a Cancel button, or the result."""
    assert campaign.report_chat_id is not None and campaign.report_message_id is not None
    if final:
        text, markup = texts.campaign_done(progress), None
    else:
        text, markup = texts.campaign_progress(progress), keyboards.campaign_progress(campaign.id)
    try:
        await bot.edit_message_text(
            text,
            chat_id=campaign.report_chat_id,
            message_id=campaign.report_message_id,
            reply_markup=markup,
        )
    except BadRequest as error:  # not modified, or the message was deleted: keep sending
        log.debug("Could not edit the progress of campaign %s: %s", campaign.id, error)
    except TelegramError as error:
        log.warning("Could not edit the progress of campaign %s: %s", campaign.id, error)


async def _report(bot: Bot, campaign: Campaign, final: Tally) -> None:
    """Tell whoever started it: a new message (and the progress message shows the result).
    A cancelled campaign was reported when it was cancelled."""
    if campaign.report_chat_id is None or campaign.status == CampaignStatus.cancelled:
        return
    if campaign.report_message_id is not None:
        await _edit_progress(bot, campaign, final, final=True)
    if campaign.kind == CampaignKind.announcement:
        title = str((campaign.payload or {}).get("title", ""))
        text = texts.announcement_report(
            title, final.sent, final.blocked + final.skipped, final.failed
        )
    else:
        text = texts.campaign_done(final)
    try:
        await bot.send_message(campaign.report_chat_id, text)
    except Forbidden:
        log.info("The author of campaign %s blocked the bot", campaign.id)
    except TelegramError as error:
        log.warning("Could not report campaign %s: %s", campaign.id, error)
