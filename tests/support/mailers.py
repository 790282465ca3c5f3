"""A mail backend for tests: records connections, refuses chosen addresses, or 'crashes'."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

from django.core.mail.backends import locmem


class WorkerCrash(BaseException):  # noqa: N818 - stands for a killed process, not an error
    """Raised mid-batch like a worker killed by the OOM killer: nothing after it runs."""


class RecordingBackend(locmem.EmailBackend):
    opened: ClassVar[int] = 0
    refuse: ClassVar[set[str]] = set()
    crash_on: ClassVar[set[str]] = set()

    @classmethod
    def reset(cls) -> None:
        cls.opened = 0
        cls.refuse = set()
        cls.crash_on = set()

    def open(self) -> bool:
        type(self).opened += 1
        return True

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            if message.to[0] in self.refuse:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"5.1.1 No such user")})
            if message.to[0] in self.crash_on:
                raise WorkerCrash
        return super().send_messages(messages)
