"""Passwords come from the environment or a command, never from rules.yaml, and are asked for at
every connect.

For providers that no longer take passwords (Microsoft 365, Gmail), an OAuth2
access token comes from `oauth2_token_command` (e.g. a script around the
provider's token endpoint, like msmtp's passwordeval) and is used with XOAUTH2,
so no cloud SDK is a dependency of mailflow. Such a token expires after about an
hour; because `Credentials.secret()` runs the command at each connect and
reconnect, the next connection logs in with whatever the command hands out then.

A command runs in a process group of its own: one that hangs past its timeout is killed with
everything it started, so no child of it is left behind.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SecretError

if TYPE_CHECKING:
    from .rules import ServerSettings

COMMAND_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Credentials:
    """Where one server connection's secret comes from; the secret itself is fetched at each
    connect, never kept. `what` names the connection in errors ('mailbox german, IMAP')."""

    what: str
    password_env: str | None = None
    password_command: str | None = None
    oauth2_token_command: str | None = None
    timeout: float = COMMAND_TIMEOUT_SECONDS   # a command that takes longer is killed, with its children

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
            return _run(self.password_command, "password_command", self.what, self.timeout)
        if self.oauth2_token_command:
            return _run(self.oauth2_token_command, "oauth2_token_command", self.what, self.timeout)
        return None


def _run(command: str, key: str, what: str, timeout: float) -> str:
    try:
        process = subprocess.Popen(shlex.split(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
    except (OSError, ValueError) as exc:
        raise SecretError(f"{what}: {key} could not run: {type(exc).__name__}") from None
    with process:
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except BaseException as exc:
            # The whole group: a child it started (and that holds its output open) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise SecretError(f"{what}: {key} did not finish within {timeout:g} s and was stopped, "
                                  "with every process it started; run it by hand to see why") from None
            raise
    if process.returncode != 0:
        # Its output may hold the secret: say only how it ended.
        raise SecretError(f"{what}: {key} exited with status {process.returncode}; run it by hand to see why")
    secret = stdout.rstrip("\r\n")
    if not secret:
        raise SecretError(f"{what}: {key} printed nothing")
    return secret


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (Gmail, Microsoft 365), before base64."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"
