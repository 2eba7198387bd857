"""Secrets never reach the ledger: token-like keys are dropped, token-like values redacted."""

from __future__ import annotations

import os
import re
from typing import Any

#: Keys never written to the ledger, whatever their nesting.
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret", "credential")
#: Environment variables whose values never reach the ledger.
SECRET_ENV_VARS = ("QISKIT_IBM_TOKEN",)
REDACTED = "<redacted>"
_SECRET_VALUE_RE = re.compile(
    r"(?i)\b(token|api[_-]?key|apikey|password|secret|authorization|bearer)(\s*[=:]\s*(?:bearer\s+)?|\s+)(['\"]?)[^\s'\",;]+"
)


def scrub(value: Any) -> Any:
    """A copy of ``value`` without secret-looking keys (tokens never reach the ledger)."""
    if isinstance(value, dict):
        return {
            k: scrub(v) for k, v in value.items() if not any(s in str(k).lower() for s in SECRET_KEYS)
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def scrub_text(text: Any) -> str | None:
    """``text`` with token values from the environment and ``token=...``-like values redacted."""
    if text is None:
        return None
    text = str(text)
    for var in SECRET_ENV_VARS:
        secret = os.environ.get(var, "").strip()
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _SECRET_VALUE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", text)

