"""`deviceauth-cli activate` in a pseudo-terminal: the person opens the printed URL in
the browser, signs in, reads the code, and types it at the prompt."""

from __future__ import annotations

import os
import re
import stat

import pexpect
from playwright.sync_api import Browser

from conftest import CLI, Emulator


def test_activate_through_a_terminal(emulator: Emulator, browser: Browser, tmp_path, screenshots):
    token_file = tmp_path / "token.json"
    cli = pexpect.spawn(
        str(CLI),
        ["activate", "--base-url", emulator.url + "/api", "--token-file", str(token_file)],
        encoding="utf-8",
        timeout=20,
        dimensions=(60, 120),
    )
    cli.expect(r"(http://\S+/_emulator/activate/\S+)")
    url = cli.match.group(1)
    cli.expect("Activation code: ")
    assert "█" in cli.before, "a QR code is drawn"

    page = browser.new_page()
    page.goto(url)
    page.fill("input[name=username]", "terminal-user")
    page.fill("input[name=password]", "anything")
    page.get_by_test_id("sign-in").click()
    code = page.get_by_test_id("activation-code").inner_text().strip()
    page.screenshot(path=str(screenshots / "cli-01-activation-code.png"))
    page.close()
    assert re.fullmatch(r"\d{6}", code), code

    cli.sendline(code)
    cli.expect(r"Activated device (\S+) for user (\S+)")
    assert cli.match.group(1) and cli.match.group(2)
    cli.expect(pexpect.EOF)
    cli.close()
    assert cli.exitstatus == 0
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600

    token = __import__("json").loads(token_file.read_text())["tokens"][0]["api_token"]
    transcript = cli.before or ""
    assert token not in transcript

    projects = pexpect.spawn(
        str(CLI),
        ["projects", "--base-url", emulator.url + "/api", "--token-file", str(token_file)],
        encoding="utf-8",
        timeout=20,
    )
    projects.expect(pexpect.EOF)
    projects.close()
    assert projects.exitstatus == 0 and projects.before.strip(), projects.before
    assert token not in projects.before


def test_a_wrong_code_is_explained_in_the_terminal(emulator: Emulator, tmp_path):
    cli = pexpect.spawn(
        str(CLI),
        ["activate", "--base-url", emulator.url + "/api", "--token-file", str(tmp_path / "t.json")],
        encoding="utf-8",
        timeout=20,
    )
    cli.expect("Activation code: ")
    cli.sendline("000000x")
    cli.expect("activation code is not correct")
    cli.expect(pexpect.EOF)
    cli.close()
    assert cli.exitstatus != 0
    assert not (tmp_path / "t.json").exists()


def test_after_logout_the_terminal_says_to_activate(emulator: Emulator, tmp_path):
    token_args = ["--base-url", emulator.url + "/api", "--token-file", str(tmp_path / "t.json")]
    forget = pexpect.spawn(str(CLI), ["logout", *token_args], encoding="utf-8", timeout=20)
    forget.expect("No API token")
    forget.expect(pexpect.EOF)
    forget.close()
    assert forget.exitstatus == 0
    projects = pexpect.spawn(str(CLI), ["projects", *token_args], encoding="utf-8", timeout=20)
    projects.expect("run `deviceauth-cli activate` first")
    projects.expect(pexpect.EOF)
    projects.close()
    assert projects.exitstatus == 1
