"""A lesson made of long unbroken runs reaches the student whole, in messages Telegram accepts.

The harness fails the test if the emulator refused any request (text over 4096 units, broken
HTML), so opening the lesson at all is half of the proof.
"""

from __future__ import annotations

import re

from bot.emulator.tghtml import parse_html
from db.authoring import LessonDraft
from db.models import MediaKind
from tests.e2e.conftest import BotHarness, has_button, simple_course

CHINESE = ("学而时习之，不亦说乎？有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？" * 200)[:5000]
EMOJI = "😀" * 3000  # 6000 UTF-16 units
LINK = "https://example.com/" + "docs/chapter-1/section-2/" * 180
CODE = "f=function(a,b){return(a>b)?a:b};x=f(1,2);" * 120  # no space to break at


def without_whitespace(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_a_lesson_of_unbroken_runs_arrives_whole_in_several_messages(bot: BotHarness):
    content = "\n\n".join(
        [
            CHINESE,
            EMOJI,
            f"Read {LINK}",
            f'<pre><code class="language-javascript">{CODE}</code></pre>',
        ]
    )
    draft = simple_course("Long content", lessons=1)
    draft.lessons = [LessonDraft("Long runs", content)]
    course = await bot.course(draft)
    ann = bot.emulator.user(1001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    mark = ann.mark()
    await ann.press("Continue")

    messages = ann.since(mark)
    assert len(messages) >= 6, [message.text for message in messages]
    assert "Long runs" in (messages[0].text or "")
    shown = without_whitespace("".join(message.text or "" for message in messages))
    assert without_whitespace(parse_html(content)[0]) in shown
    code = [message for message in messages if "return(a>b)" in (message.text or "")]
    assert len(code) >= 2, "the code is longer than one message"
    for message in code:
        [entity] = message.entities
        assert (entity["type"], entity["language"]) == ("pre", "javascript")
        assert entity["length"] == len(message.text or ""), "all of it is code"
    assert has_button(messages[-1], "Complete")


async def test_a_lesson_whose_photo_telegram_refuses_still_shows_its_text(bot: BotHarness):
    """An imported course may carry file ids of another bot: the student still learns."""
    draft = simple_course(lessons=1)
    draft.lessons[0].media_kind = MediaKind.photo
    draft.lessons[0].media_file_id = "AgACAgIAAxkBAAIBZ2ZnotKnownHere"
    draft.lessons[0].content = "The text of the lesson."
    course = await bot.course(draft)
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    mark = ann.mark()
    await ann.press("Continue")
    shown = [m.content for m in ann.since(mark)]
    assert any("photo can't be shown" in text for text in shown), shown
    assert "The text of the lesson." in shown[-1] and has_button(ann.last, "Complete")
    assert not any("went wrong" in text for text in shown)
    [refused] = bot.emulator.refused
    assert refused.method == "sendPhoto"
    bot.emulator.refused.clear()  # the refusal is the point of this test
