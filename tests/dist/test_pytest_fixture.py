"""The pytest fixture `deviceauth_emulator` from the installed wheel's plugin (entry point pytest11)."""

import pytest

from deviceauth import activeconnect, projectinsight


def test_sign_in_with_fixture(deviceauth_emulator):
    emu = deviceauth_emulator
    client = activeconnect.Client(emu.application_id, emu.application_secret, base_url=emu.base_url)
    client.add_users(["carol"])
    emu.register_device("carol")
    session = client.authenticate_user("carol")
    emu.set_status(emu.pending_sign_ins()[0].session_token, "active")
    assert session.wait(timeout=10.0, interval=0.1).is_authenticated
    assert session.logout()


@pytest.mark.deviceauth_emulator(approve_after_ms=100)
def test_marker_options(deviceauth_emulator):
    emu = deviceauth_emulator
    client = activeconnect.Client(emu.application_id, emu.application_secret, base_url=emu.base_url)
    client.add_users(["dave"])
    emu.register_device("dave")
    assert str(client.authenticate_user("dave").wait(timeout=10.0, interval=0.1)) == "active"


def test_activation_with_fixture(deviceauth_emulator):
    pi = projectinsight.Client(deviceauth_emulator.project_insight_url)
    pending = pi.create_device_activation(client_agent="dist-test/1.0")
    done = pi.complete_device_activation(pending.id, deviceauth_emulator.activation_code(pending.id), client_agent="dist-test/1.0")
    assert done.api_token


def test_factory_two_emulators(deviceauth_emulator_factory):
    a, b = deviceauth_emulator_factory(), deviceauth_emulator_factory(application=("app-b", "secret-b"))
    assert a.base_url != b.base_url and b.application_id == "app-b"
