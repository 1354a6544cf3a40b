"""``next_application_secret``: across a secret rotation in the emulator, a call refused
with the current secret is sent once more with the next, which is then used first; a
sign-in pushes once; neither secret ever shows."""

from __future__ import annotations

import pytest

import deviceauth
from deviceauth import activeconnect

from conftest import App, Emulator, quote

NEXT = "next-secret-value"


def rotate(emulator: Emulator, app: App) -> None:
    emulator.call("POST", f"/_emulator/apps/{quote(app.id)}/secret", {"application_secret": NEXT})


def statuses(emulator: Emulator, path: str) -> list:
    return [r["status"] for r in emulator.requests(path)]


def test_a_sign_in_after_the_rotation_is_sent_again_with_the_next_secret(
    emulator: Emulator, app: App, phone_user: str
) -> None:
    client = activeconnect.Client(app.id, app.secret, base_url=emulator.url, next_application_secret=NEXT)
    rotate(emulator, app)
    session = client.authenticate_user(phone_user)
    assert statuses(emulator, app.path("authenticate_user", phone_user)) == [401, 202]
    assert len(app.sessions()) == 1, "one push"
    emulator.session_action(session.session_token, "approve")
    assert session.refresh() is activeconnect.Status.ACTIVE
    client.health()
    probe = app.path("has_registered_mobile_device", activeconnect.HEALTH_PROBE_USER)
    assert statuses(emulator, probe) == [404], "the next secret is now used first"


async def test_the_async_client_takes_the_next_secret_too(emulator: Emulator, app: App) -> None:
    client = activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, next_application_secret=NEXT)
    rotate(emulator, app)
    await client.health()


def test_both_secrets_refused_is_unauthorized_showing_neither(emulator: Emulator, app: App) -> None:
    client = activeconnect.Client(
        app.id, "wrong-current-value", base_url=emulator.url, next_application_secret="wrong-next-value"
    )
    with pytest.raises(deviceauth.UnauthorizedError) as caught:
        client.add_user("u")
    text = f"{caught.value} {caught.value!r} {client!r}"
    assert "wrong-current-value" not in text and "wrong-next-value" not in text
    assert statuses(emulator, app.path("add_users")) == [401, 401]


@pytest.mark.parametrize("next_secret", ["", "same-secret"])
def test_an_empty_or_unchanged_next_secret_is_refused(next_secret: str) -> None:
    with pytest.raises(deviceauth.InvalidArgumentError, match="next_application_secret"):
        activeconnect.Client("APP", "same-secret", next_application_secret=next_secret)
