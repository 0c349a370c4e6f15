"""Bounds of what authors write, shared by course files and chat authoring so both accept the same.

Lengths are in characters. Titles match their columns; question and option texts are
Telegram's poll limits; the rest keep a message (and the database) reasonable.
"""

from __future__ import annotations

import re

MAX_TITLE_LENGTH = 200  # course, lesson and quiz titles
MAX_DESCRIPTION_LENGTH = 4000
MAX_CATEGORY_LENGTH = 100
MAX_DURATION_MINUTES = 100_000  # from 0
MAX_ENROLLMENT_KEY_LENGTH = 128
MAX_LESSON_CONTENT_LENGTH = 50_000
MAX_MEDIA_FILE_ID_LENGTH = 255
MAX_QUESTION_TEXT_LENGTH = 300
MAX_OPTION_TEXT_LENGTH = 100
MAX_EXPLANATION_LENGTH = 1000
MAX_PASSING_SCORE = 100  # from 0, in percent
MAX_QUIZ_ATTEMPTS = 1000  # from 0, which means unlimited
MAX_QUESTIONS_PER_QUIZ = 50  # from 1
MIN_OPTIONS_PER_QUESTION = 2  # of a choice question
MAX_OPTIONS_PER_QUESTION = 10

# Characters no text may hold: PostgreSQL stores neither a NUL nor an unpaired surrogate.
UNSTORABLE_CHARACTERS = re.compile(r"[\x00\ud800-\udfff]")
