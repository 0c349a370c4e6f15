"""Long lessons split on paragraph boundaries into valid HTML parts of at most 4096 units."""

from __future__ import annotations

import re

from bot.formatting import escape, progress_bar, split_html, utf16_len


def visible(html_text: str) -> str:
    return re.sub(r"<[^>]*>", "", html_text)


def test_short_text_is_one_part():
    assert split_html("Hello <b>world</b>") == ["Hello <b>world</b>"]


def test_splits_on_paragraphs_and_keeps_every_word():
    paragraphs = [f"Paragraph {i} " + "word " * 150 for i in range(20)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts)
    assert " ".join(parts).split() == text.split()


def test_tags_open_at_a_cut_are_closed_and_reopened():
    text = "<b>" + "\n\n".join("bold " * 100 for _ in range(30)) + "</b>"
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert utf16_len(part) <= 4096


def test_one_huge_paragraph_falls_back_to_words_and_counts_emoji_twice():
    text = "😀 " * 5000
    parts = split_html(text)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_entities_are_never_cut():
    text = "&amp;" * 3000
    parts = split_html(text)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in parts)
    assert sum(p.count("&amp;") for p in parts) == 3000


def test_escape_and_progress_bar():
    assert escape("<b> & co") == "&lt;b&gt; &amp; co"
    assert progress_bar(0) == "░░░░░░░░░░ 0%"
    assert progress_bar(100) == "▓▓▓▓▓▓▓▓▓▓ 100%"
    assert progress_bar(67).startswith("▓▓▓▓▓▓▓░░░")
