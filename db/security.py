"""Hashing of secrets (enrollment keys, invite codes) through passlib's maintained fork, libpass."""

from __future__ import annotations

import asyncio

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2", "bcrypt_sha256"], deprecated="auto")


def hash_secret(plain: str) -> str:
    return _context.hash(plain)


def verify_secret(plain: str, hashed: str) -> bool:
    """Constant-time check; a malformed stored hash counts as a mismatch, never as a crash."""
    try:
        return _context.verify(plain, hashed)
    except (ValueError, TypeError):
        return False


async def verify_secret_off_loop(plain: str, hashed: str) -> bool:
    """``verify_secret`` in a worker thread: an argon2 check takes ~0.4 s of CPU, and on the
    event loop it would stall every other user's update for that long."""
    return await asyncio.to_thread(verify_secret, plain, hashed)
