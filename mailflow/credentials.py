"""Passwords come from the environment or a command, never from rules.yaml.

For providers that no longer take passwords (Microsoft 365, Gmail), an OAuth2
access token comes from `oauth2_token_command` (e.g. a script around the
provider's token endpoint, like msmtp's passwordeval) and is used with XOAUTH2,
so no cloud SDK is a dependency of mailflow.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from typing import TYPE_CHECKING

from .errors import SecretError

if TYPE_CHECKING:
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
        return _run(settings.password_command, "password_command", what)
    if settings.oauth2_token_command:
        return _run(settings.oauth2_token_command, "oauth2_token_command", what)
    return None


def _run(command: str, key: str, what: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretError(f"{what}: {key} could not run: {type(exc).__name__}") from None
    if done.returncode != 0:
        # Its output may hold the secret: say only how it ended.
        raise SecretError(f"{what}: {key} exited with status {done.returncode}")
    return done.stdout.rstrip("\r\n")


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Gmail, Microsoft 365), before base64."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"
