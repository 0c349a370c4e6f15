"""The emulator's compact method table is exactly what the Bot API spec of record says."""

from __future__ import annotations

import json

import pytest

from bot.emulator._build_methods import DEFAULT_SPEC, OUTPUT, build, dumps


@pytest.mark.skipif(not DEFAULT_SPEC.exists(), reason="shared/ is not beside this checkout")
def test_committed_table_matches_the_spec():
    spec = json.loads(DEFAULT_SPEC.read_text(encoding="utf-8"))
    assert OUTPUT.read_text(encoding="utf-8") == dumps(build(spec))
    assert spec["version"] == "Bot API 10.1"
