"""Sent folders for the Maildir worker (`Worker.sent_folders`), which has none of its own."""

from __future__ import annotations

from pathlib import Path


class SentFolder:
    """A Sent folder that holds nothing of mailflow's and takes every copy; the others say what they hold."""

    def mailflow_mail(self, uidvalidity, after_uid):
        return 1, []

    def append(self, raws):
        pass

    def contains(self, message_id):
        return False

    def close(self):
        pass


class UnreadableSent(SentFolder):
    """A Sent folder whose server times out."""

    def mailflow_mail(self, uidvalidity, after_uid):
        from mailflow.errors import ConnectionFailed
        raise ConnectionFailed("mailbox=international Sent folder: the IMAP server timed out")


class SentFolderOf(SentFolder):
    """The mails a FolderSender wrote into `folder` (what a provider files), read as mailflow reads a Sent folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def mailflow_mail(self, uidvalidity, after_uid):
        files = sorted(self.folder.glob("*.eml"), key=lambda f: f.stat().st_mtime_ns)
        found = [(uid, f.read_bytes().split(b"\n\n")[0]) for uid, f in enumerate(files, 1)]
        return 1, [(uid, header) for uid, header in found if uid > after_uid]
