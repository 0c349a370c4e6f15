"""Generate ``botapi_methods.json`` (the compact method table) from the full Bot API spec.

Usage::

    python -m bot.emulator._build_methods [/path/to/botapi-spec.json]

The spec (``{"methods": {name: {"fields": [{"name", "types", "required", ...}]}}}``) lives
outside the repository; only the compact derivative is committed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# The spec of record sits in ``shared/`` beside the repository's folder.
DEFAULT_SPEC = Path(__file__).resolve().parents[3] / "shared" / "telegram" / "botapi-spec.json"
OUTPUT = Path(__file__).with_name("botapi_methods.json")


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Reduce the spec to ``{"version", "methods": {name: [{name, types, required}]}, "returns"}``.

    ``returns`` maps each method to the spec's list of possible result types.
    """
    methods = {
        name: [
            {"name": f["name"], "types": list(f["types"]), "required": bool(f["required"])}
            for f in method.get("fields", [])
        ]
        for name, method in sorted(spec["methods"].items())
    }
    returns = {
        name: list(method.get("returns", [])) for name, method in sorted(spec["methods"].items())
    }
    return {"version": spec.get("version", "unknown"), "methods": methods, "returns": returns}


def dumps(compact: dict[str, Any]) -> str:
    """Serialise with one method per line, so regenerating gives readable diffs."""
    lines = [
        f"  {json.dumps(name)}: {json.dumps(fields, ensure_ascii=False)}"
        for name, fields in compact["methods"].items()
    ]
    methods = ",\n".join(lines)
    returns = json.dumps(compact["returns"], ensure_ascii=False)
    version = json.dumps(compact["version"])
    return f'{{"version": {version},\n"methods": {{\n{methods}\n}},\n"returns": {returns}}}\n'


def main(argv: list[str] | None = None) -> int:
    """Read the spec given on the command line (or the default path) and write the table."""
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else DEFAULT_SPEC
    compact = build(json.loads(source.read_text(encoding="utf-8")))
    OUTPUT.write_text(dumps(compact), encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(compact['methods'])} methods, {compact['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
