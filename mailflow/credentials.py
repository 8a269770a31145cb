"""Passwords come from the environment or a command, never from rules.yaml, and are asked for at
every connect.

For providers that no longer take passwords (Microsoft 365, Gmail), an OAuth2
access token comes from `oauth2_token_command` (e.g. a script around the
provider's token endpoint, like msmtp's passwordeval) and is used with XOAUTH2,
so no cloud SDK is a dependency of mailflow. Such a token expires after about an
hour; because `Credentials.secret()` runs the command at each connect and
reconnect, the next connection logs in with whatever the command hands out then.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SecretError

if TYPE_CHECKING:
    from .rules import ServerSettings


@dataclass(frozen=True)
class Credentials:
    """Where one server connection's secret comes from; the secret itself is fetched at each
    connect, never kept. `what` names the connection in errors ('mailbox german, IMAP')."""

    what: str
    password_env: str | None = None
    password_command: str | None = None
    oauth2_token_command: str | None = None

    @classmethod
    def of(cls, settings: ServerSettings, what: str) -> Credentials:
        return cls(what, settings.password_env, settings.password_command, settings.oauth2_token_command)

    @property
    def oauth2(self) -> bool:
        """Log in with XOAUTH2 rather than a password."""
        return bool(self.oauth2_token_command)

    def secret(self) -> str | None:
        """The password or token as of now: the variable is read, the command run, on every call."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise SecretError(
                    f"{self.what}: environment variable {self.password_env} is not set; "
                    f"export it before starting mailflow"
                )
            return value
        if self.password_command:
            return _run(self.password_command, "password_command", self.what)
        if self.oauth2_token_command:
            return _run(self.oauth2_token_command, "oauth2_token_command", self.what)
        return None


def _run(command: str, key: str, what: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise SecretError(f"{what}: {key} could not run: {type(exc).__name__}") from None
    if done.returncode != 0:
        # Its output may hold the secret: say only how it ended.
        raise SecretError(f"{what}: {key} exited with status {done.returncode}; run it by hand to see why")
    secret = done.stdout.rstrip("\r\n")
    if not secret:
        raise SecretError(f"{what}: {key} printed nothing")
    return secret


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Gmail, Microsoft 365), before base64."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"
