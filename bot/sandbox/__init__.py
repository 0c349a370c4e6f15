"""``learnbot sandbox``: try the real bot without Telegram, in a local web chat."""

from bot.sandbox.server import Sandbox, SandboxError, run_sandbox

__all__ = ["Sandbox", "SandboxError", "run_sandbox"]
