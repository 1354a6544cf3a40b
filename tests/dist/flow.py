"""Sign-in and device activation through the INSTALLED wheel and its packaged emulator.

Run by tests/dist/run.sh in a fresh venv that has only the wheel; prints one
`PASS name` or `FAIL name: why` line per check and exits 1 if any failed.
"""

import sys
import time
import traceback

results = []


def check(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
        results.append(False)
        print(f"FAIL python: {name}: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(limit=3)
    else:
        results.append(True)
        print(f"PASS python: {name}", flush=True)


def main():
    import deviceauth
    from deviceauth import activeconnect, projectinsight
    from deviceauth.testing import Emulator

    assert "site-packages" in deviceauth.__file__, deviceauth.__file__
    t0 = time.monotonic()
    with Emulator() as emu:
        print(f"     packaged emulator started in {time.monotonic() - t0:.2f} s at {emu.base_url}", flush=True)
        client = activeconnect.Client(emu.application_id, emu.application_secret, base_url=emu.base_url)
        state = {}

        def register():
            client.add_users(["alice"])
            emu.register_device("alice")
            assert client.has_registered_mobile_device("alice") is True

        def sign_in():
            session = client.authenticate_user("alice")
            state["session"] = session
            pending = emu.pending_sign_ins()
            assert [p.user for p in pending] == ["alice"], pending
            token = getattr(session, "session_token", None)
            if token is not None:
                assert pending[0].session_token == token
            assert emu.set_status(pending[0].session_token, "active") == "active"
            status = session.wait(timeout=10.0, interval=0.1)
            assert str(status) == "active" and status.is_authenticated, status

        def logout():
            assert state["session"].logout() is True
            assert str(state["session"].refresh()) == "closed"

        def from_registration_link():
            client.add_users(["bob"])
            link = client.device_registration_link("bob", display_name="bob@shop")
            assert emu.open_registration_link(link) == "bob"
            assert client.has_registered_mobile_device("bob") is True
            first = client.authenticate_user("bob")
            second = client.authenticate_user("alice")
            pending = emu.pending_sign_ins()
            assert [p.user for p in pending] == ["alice", "bob"], pending  # newest first
            emu.set_status(pending[1].session_token, "failed")  # bob denies
            assert str(first.wait(timeout=10.0, interval=0.1)) == "failed"
            emu.set_status(pending[0].session_token, "cancelled")
            assert str(second.wait(timeout=10.0, interval=0.1)) == "cancelled"
            assert emu.pending_sign_ins() == []

        def device_activation():
            pi = projectinsight.Client(emu.project_insight_url)
            pending = pi.create_device_activation(client_agent="dist-test/1.0")
            code = emu.activation_code(pending.url)
            done = pi.complete_device_activation(pending.id, code, client_agent="dist-test/1.0")
            assert done.user_id and done.device_id
            projects = pi.with_api_token(done.api_token).get("project/active")
            assert projects, projects

        check("register a device (add_users, register_device)", register)
        check("sign-in: authenticate_user, approve via pending_sign_ins/set_status, wait -> active", sign_in)
        check("logout -> closed", logout)
        check("open_registration_link, pending_sign_ins newest first, deny and cancel", from_registration_link)
        check("device activation (Project Insight) against the packaged emulator", device_activation)
    check("emulator stopped by close()", lambda: None if not emu.running else (_ for _ in ()).throw(AssertionError("still running")))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
