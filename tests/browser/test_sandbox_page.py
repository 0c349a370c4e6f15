"""The sandbox page in a real browser: a student's journey through the real bot, the instructor
and the admin in the same sandbox, and what the page renders of it.

One journey in one test (a browser start costs more than its steps); it saves its screenshot of
the student's chat as ``docs/sandbox.png`` when that file is missing or when
``LEARNBOT_UPDATE_SCREENSHOT=1`` (the chat's clock times change it on every run).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SandboxProcess

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "sandbox.png"


def last_bot_message(page: Any) -> Any:
    return page.locator(".msg.bot").last


async def send(page: Any, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")


async def press(page: Any, label: str, message: Any = None) -> None:
    """Press the newest inline button with this label (or the one in ``message``)."""
    scope = message if message is not None else page.locator(".msg.bot:has(.inline-keyboard)").last
    await scope.locator(".inline-keyboard button", has_text=label).first.click()


async def switch_to(page: Any, name: str) -> None:
    await page.locator("#users button", has_text=name).click()
    await page.locator(f'#users button[aria-pressed="true"]:has-text("{name}")').wait_for()


async def test_a_student_journey_the_instructor_and_the_admin(
    browser_page: Any, sandbox_process: SandboxProcess, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    page = browser_page
    await page.goto(sandbox_process.url)
    await expect(page.locator("#status")).to_have_text("@learnbot_sandbox_bot")
    await expect(page.locator('#users button[aria-pressed="true"]')).to_contain_text("Sam")

    # /start typed at the bottom; the bot's answer comes live
    await send(page, "/start")
    await expect(page.locator(".msg.user").last).to_contain_text("/start")
    await expect(last_bot_message(page)).to_contain_text("Hello, Sam!")

    # the command menu is the student's scope; a command from it is sent at once
    await page.locator("#menu-button").click()
    menu = page.locator("#menu")
    await expect(menu.locator('button[data-command="/courses"]')).to_be_visible()
    await expect(menu.locator('button[data-command="/teach"]')).to_have_count(0)
    await menu.locator('button[data-command="/courses"]').click()
    await expect(menu).to_be_hidden()
    catalog = last_bot_message(page)
    await expect(catalog).to_contain_text("Course catalog")
    await expect(catalog.locator(".text b").first).to_have_text("📚 Course catalog")

    # opening a course edits the catalog message in place
    catalog_id = await catalog.get_attribute("data-id")
    count = await page.locator(".msg").count()
    await press(page, "Python Basics")
    card = page.locator(f'.msg[data-id="{catalog_id}"]')
    await expect(card).to_contain_text("📄 Lessons: 6")
    await expect(card).to_have_attribute("data-edited", "1")
    await expect(card.locator(".meta")).to_contain_text("edited")
    assert await page.locator(".msg").count() == count

    # enrolling answers with a toast, then a message with Continue
    await press(page, "Enroll", card)
    await expect(page.locator("#toast")).to_have_text("You are enrolled! 🎉")
    await expect(last_bot_message(page)).to_contain_text("You are enrolled in Python Basics")
    await press(page, "Continue")
    lesson = last_bot_message(page)
    await expect(lesson).to_contain_text("Lesson 1 of 6")
    # Telegram HTML as a client draws it: code blocks with their language, code, quotes, bold
    await expect(lesson.locator("pre code.language-python").first).to_have_text(
        'print("Hello, world!")'
    )
    await expect(lesson.locator("code", has_text=re.compile(r"^hello\.py$"))).to_have_count(1)
    await expect(lesson.locator("blockquote")).to_contain_text("make mistakes on purpose")
    await expect(lesson.locator("b", has_text="interactive shell")).to_have_count(1)

    await press(page, "Complete", lesson)
    await expect(last_bot_message(page)).to_contain_text("Lesson Hello, Python completed.")
    await expect(lesson.locator(".inline-keyboard")).not_to_contain_text("Complete")

    # the next lesson has a quiz: answer it by clicking
    await press(page, "Next lesson")
    await expect(last_bot_message(page)).to_contain_text("Variables and types")
    await press(page, "Start quiz")
    await expect(last_bot_message(page)).to_contain_text("Variables check")
    await press(page, "Start quiz")
    question = last_bot_message(page)
    await expect(question).to_contain_text("Question 1 of 3")
    question_id = await question.get_attribute("data-id")
    await press(page, "B) x = 4", question)
    await expect(page.locator("#toast")).to_have_text("Saved ✅")
    answered = page.locator(f'.msg[data-id="{question_id}"]')
    await expect(answered).to_contain_text("Your answer: x = 4")
    await expect(answered.locator(".inline-keyboard")).to_have_count(0)

    # Submit with nothing chosen: the bot's refusal is an alert, a dialog to close
    await expect(last_bot_message(page)).to_contain_text("Question 2 of 3")
    await press(page, "Submit")
    alert = page.locator("#alert")
    await expect(alert).to_be_visible()
    await expect(page.locator("#alert-text")).to_have_text(
        "Select at least one option, then press Submit."
    )
    await page.locator("#alert-ok").click()
    await expect(alert).to_be_hidden()

    # toggling options edits the question in place
    second = last_bot_message(page)
    await press(page, "A) my_var", second)
    await expect(second.locator(".inline-keyboard")).to_contain_text("☑ A) my_var")
    await press(page, "C) _total", second)
    await expect(second.locator(".inline-keyboard")).to_contain_text("☑ C) _total")
    await press(page, "Submit", second)
    await expect(last_bot_message(page)).to_contain_text("Question 3 of 3")
    await press(page, "float")
    await expect(last_bot_message(page)).to_contain_text("Lesson Variables and types completed")
    await expect(page.locator(".msg.bot").nth(-2)).to_contain_text("100")
    await expect(page.locator("#refused-count")).to_have_text("0")
    await page.locator("#toast").evaluate("toast => { toast.hidden = true; }")  # not in the picture
    await page.locator(".msg.bot").nth(-2).evaluate("result => result.scrollIntoView()")
    shot = tmp_path / "sandbox.png"
    await page.screenshot(path=str(shot))
    if not SCREENSHOT.exists() or os.environ.get("LEARNBOT_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

    # media cards, the rest of Telegram's formatting, and what the emulator refused
    await send(page, "/courses")
    await press(page, "Sandbox showcase")
    await press(page, "Enroll")
    await press(page, "Continue")
    await expect(last_bot_message(page)).to_contain_text("Lesson 1 of 2")
    formatted = last_bot_message(page)
    await expect(formatted.locator("u")).to_have_text("underline")
    await expect(formatted.locator("s")).to_have_text("strikethrough")
    await expect(formatted.locator("i", has_text="italic")).to_have_count(1)
    await expect(formatted.locator('a[href="https://example.com/docs"]')).to_have_text("a link")
    await expect(formatted.locator("pre code")).to_have_text('print("<b> stays text")')
    spoiler = formatted.locator(".tg-spoiler")
    await expect(spoiler).to_have_text("a secret")
    await spoiler.click()
    await expect(spoiler).to_have_class("tg-spoiler revealed")
    photo = page.locator('.msg.bot [data-media="photo"]').last
    await expect(photo).to_contain_text("no picture behind this file id")
    await press(page, "Next")
    # Telegram refuses the document (a file id of another bot): the lesson goes on without it.
    await expect(last_bot_message(page)).to_contain_text("comes from real Telegram")
    await expect(page.locator(".msg.bot").nth(-2)).to_contain_text("can't be shown right now")
    await expect(page.locator("#refused-count")).to_have_text("1")
    await page.locator("#refused-toggle").click()
    panel = page.locator("#refused")
    await expect(panel).to_be_visible()
    await expect(panel.locator("li")).to_contain_text(
        "sendDocument to Sam: 400 Bad Request: wrong file identifier/HTTP URL specified"
    )
    await page.locator("#refused-close").click()
    await expect(panel).to_be_hidden()

    # the instructor has their own chat and the instructor's menu
    await switch_to(page, "Ines")
    await expect(page.locator("#empty")).to_be_visible()
    await send(page, "/start")
    await expect(last_bot_message(page)).to_contain_text("Hello, Ines!")
    await page.locator("#menu-button").click()
    await page.locator('#menu button[data-command="/teach"]').click()
    await expect(last_bot_message(page)).to_contain_text("Python Basics")
    await expect(last_bot_message(page)).to_contain_text("1 enrolled")

    # the admin is an admin in the database
    await switch_to(page, "Ada")
    await send(page, "/start")
    await expect(last_bot_message(page)).to_contain_text("Hello, Ada!")
    await expect(last_bot_message(page)).to_contain_text("admin")

    # and back: the student's chat is as it was
    await switch_to(page, "Sam")
    await expect(page.locator(".msg", has_text="Question 3 of 3")).to_have_count(1)
    await expect(page.locator(f'.msg[data-id="{question_id}"]')).to_contain_text("Your answer")

    await page.goto("about:blank")  # closes the event stream before the sandbox goes
    assert await sandbox_process.stop() == 0, sandbox_process.log
    assert "learnbot sandbox stopped." in sandbox_process.log
    # the refused sendDocument is one warning line, never a traceback
    log = sandbox_process.log
    assert log.count("Traceback") == 0, log
    assert "Telegram refused a document" in log and "Wrong file identifier" in log, log
