"""The pure-Python pieces: Status and Method enums, the exception hierarchy, exports."""

from __future__ import annotations

import builtins
import pickle

import pytest

import deviceauth
from deviceauth import activeconnect, projectinsight
from deviceauth.activeconnect import Method, Status

TABLE = [
    # member, wire, in progress, authenticated
    (Status.PENDING, "pending", True, False),
    (Status.IDENTIFYING, "identifying", True, False),
    (Status.ACTIVE, "active", False, True),
    (Status.WALKAWAY, "walkaway", False, True),
    (Status.TIMEOUT, "timeout", False, False),
    (Status.CLOSED, "closed", False, False),
    (Status.FAILED, "failed", False, False),
    (Status.CANCELLED, "cancelled", False, False),
    (Status.UNKNOWN, "unknown", False, False),
]


@pytest.mark.parametrize(("member", "wire", "in_progress", "authenticated"), TABLE)
def test_status_follows_the_service_table(member: Status, wire: str, in_progress: bool, authenticated: bool) -> None:
    assert member.value == wire and str(member) == wire and f"{member}" == wire and member == wire
    assert Status(wire) is member and Status.from_wire(f" {wire.upper()} ") is member
    assert member.is_in_progress is in_progress
    assert member.is_authenticated is authenticated
    assert member.is_ended is (not in_progress and not authenticated)
    assert pickle.loads(pickle.dumps(member)) is member


def test_status_members_and_unknown_values() -> None:
    assert [m.name for m in Status] == [m.name for m, *_ in TABLE]
    assert Status.from_wire("quarantined") is Status.UNKNOWN
    assert isinstance(Status.ACTIVE, str)
    assert repr(Status.ACTIVE) == "<Status.ACTIVE: 'active'>"


def test_method() -> None:
    assert [(m.name, m.value) for m in Method] == [("ACCEPTANCE", "acceptance"), ("DEVICE", "device"), ("FACIAL", "facial")]
    assert str(Method.FACIAL) == "facial" and Method("device") is Method.DEVICE


CODES = {
    "InvalidArgumentError": "INVALID_ARGUMENT",
    "NotFoundError": "NOT_FOUND",
    "UnauthorizedError": "UNAUTHORIZED",
    "NotStartedError": "NOT_STARTED",
    "RefusedError": "REFUSED",
    "HttpError": "HTTP",
    "ProtocolError": "PROTOCOL",
    "TimeoutError": "TIMEOUT",
    "AbortedError": "ABORTED",
    "TransportError": "TRANSPORT",
}


@pytest.mark.parametrize(("name", "code"), sorted(CODES.items()))
def test_exception_classes(name: str, code: str) -> None:
    cls = getattr(deviceauth, name)
    assert issubclass(cls, deviceauth.DeviceAuthError) and issubclass(cls, Exception)
    assert cls.code == code
    error = cls("something went wrong", 418, "WHY")
    assert str(error) == "something went wrong"
    assert (error.status, error.reason, error.code) == (418, "WHY", code)
    assert repr(error) == f"{name}('something went wrong', status=418, reason='WHY')"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls and (str(again), again.status, again.reason) == (str(error), 418, "WHY")
    assert getattr(activeconnect, name, cls) is cls and getattr(projectinsight, name, cls) is cls


def test_exception_extra_bases() -> None:
    assert issubclass(deviceauth.InvalidArgumentError, ValueError)
    assert issubclass(deviceauth.TimeoutError, builtins.TimeoutError)
    plain = deviceauth.TimeoutError("late")
    assert str(plain) == "late" and plain.status is None and plain.reason is None
    with pytest.raises(builtins.TimeoutError):
        raise deviceauth.TimeoutError("late")


def test_public_names() -> None:
    for name in ["activeconnect", "projectinsight", "DeviceAuthError", "RetryPolicy", "__version__", *CODES]:
        assert hasattr(deviceauth, name), name
        assert name in deviceauth.__all__
    for module in (activeconnect, projectinsight):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
    assert activeconnect.Client.__module__ == "deviceauth.activeconnect"
    assert activeconnect.Client.__name__ == "Client" and projectinsight.Client.__name__ == "Client"
    assert projectinsight.Client.__module__ == "deviceauth.projectinsight"
    assert deviceauth.__version__.count(".") == 2


def test_result_objects_cannot_be_changed_or_made() -> None:
    with pytest.raises(TypeError):
        activeconnect.Session()  # type: ignore[call-arg]
    policy = deviceauth.RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 9  # type: ignore[misc]


def test_docstrings_come_from_rust() -> None:
    assert activeconnect.Client.__doc__ and "Activeconnect" in activeconnect.Client.__doc__
    assert activeconnect.Session.wait.__doc__ and "Ctrl-C" in activeconnect.Session.wait.__doc__
    assert projectinsight.Client.complete_device_activation.__doc__
