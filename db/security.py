"""Hashing of secrets (enrollment keys, invite codes) through passlib's maintained fork, libpass."""

from __future__ import annotations

import hashlib

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


def lookup_digest(code: str) -> str:
    """A deterministic digest for codes that must be found by value (invite codes are random)."""
    return hashlib.sha256(code.encode()).hexdigest()
