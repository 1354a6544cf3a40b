"""The pure-Python enums of deviceauth.activeconnect: :class:`Status` and :class:`Method`."""

from __future__ import annotations

import enum

__all__ = ["Status", "Method"]


class Status(str, enum.Enum):
    """The state of a sign-in session. The values are the service's wire strings, so
    ``str(Status.ACTIVE) == "active"`` and ``Status.ACTIVE == "active"``.

    A value this version does not know becomes ``UNKNOWN`` (the raw string stays in
    ``Session.raw_status``) and counts as ended, as the service says of any status it
    does not list.
    """

    #: Request sent, waiting for the phone.
    PENDING = "pending"
    #: The phone is processing the request.
    IDENTIFYING = "identifying"
    #: The user is authenticated.
    ACTIVE = "active"
    #: Authenticated, but the phone is no longer near the computer.
    WALKAWAY = "walkaway"
    #: The user did not respond in time.
    TIMEOUT = "timeout"
    #: The session was closed (logout, remote logout, expiry).
    CLOSED = "closed"
    #: Authentication failed (for example, the user denied it).
    FAILED = "failed"
    #: The user cancelled on the phone.
    CANCELLED = "cancelled"
    #: A status this version does not know.
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)

    @property
    def is_in_progress(self) -> bool:
        """Waiting for the phone: ``PENDING`` or ``IDENTIFYING``."""
        return self in (Status.PENDING, Status.IDENTIFYING)

    @property
    def is_authenticated(self) -> bool:
        """The user counts as signed in: ``ACTIVE`` or ``WALKAWAY``."""
        return self in (Status.ACTIVE, Status.WALKAWAY)

    @property
    def is_ended(self) -> bool:
        """The session is over (refused, timed out, cancelled, closed, or unknown)."""
        return not self.is_in_progress and not self.is_authenticated

    @classmethod
    def from_wire(cls, text: str) -> "Status":
        """The member for a wire string (case and surrounding spaces ignored); ``UNKNOWN``
        for a value this version does not know."""
        try:
            member = cls(text.strip().lower())
        except ValueError:
            return cls.UNKNOWN
        return member


class Method(str, enum.Enum):
    """A way the user proves presence on the phone, for ``authenticate_user(methods=...)``
    (which also accepts the plain strings). Leave methods out to let the service choose."""

    #: Confirm the prompt.
    ACCEPTANCE = "acceptance"
    #: Unlock the phone.
    DEVICE = "device"
    #: Face recognition.
    FACIAL = "facial"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


# Shown and pickled under the module users import them from.
Status.__module__ = "deviceauth.activeconnect"
Method.__module__ = "deviceauth.activeconnect"
