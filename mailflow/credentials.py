"""Passwords come from the environment or a command, never from rules.yaml."""

from __future__ import annotations

import os
import shlex
import subprocess

from .errors import SecretError
from .rules import ServerSettings


def password_for(settings: ServerSettings, what: str) -> str | None:
    """The secret for one server connection; `what` names it in errors ('mailbox german, IMAP')."""
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise SecretError(
                f"{what}: environment variable {settings.password_env} is not set; "
                f"export it before starting mailflow"
            )
        return value
    if settings.password_command:
        try:
            done = subprocess.run(
                shlex.split(settings.password_command), capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretError(f"{what}: password_command could not run: {type(exc).__name__}") from None
        if done.returncode != 0:
            # Its output may hold the secret: say only how it ended.
            raise SecretError(f"{what}: password_command exited with status {done.returncode}")
        return done.stdout.rstrip("\r\n")
    return None
