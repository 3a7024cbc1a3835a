"""Users from the browser, as an admin and a newcomer do it: add a staff user from
/users, hand over the one-time link, set a password, sign in and land on the branch;
reset it; change it at /me and see the other browser signed out."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from tests.browser.conftest import axe_violations, shot
from tests.browser.test_staff_pages import _sign_in

FIRST = "first secret 2026"
SECOND = "second secret 2026"
THIRD = "third secret 2026"


def _set_password(page: Any, link: str, password: str) -> None:
    page.goto(link)
    page.fill("#password", password)
    page.fill("#repeat", password)
    page.click("#password-form button[type=submit]")
    page.wait_for_load_state()


def test_an_admin_adds_a_user_who_sets_a_password_signs_in_and_is_reset(
    page: Any, browser: Any, site: str, demo_school: Engine
) -> None:
    _sign_in(page, site)
    page.click("header nav >> text=Users")
    page.wait_for_load_state()
    assert page.url.endswith("/users")
    page.fill("#username", "yamamoto")
    page.select_option("#role", "staff")
    page.check("#user-form input[name=branch_ids] >> nth=1")  # Yokohama
    page.click("#user-form button[type=submit]")
    page.wait_for_load_state()
    link = page.input_value("#issued-link")
    assert re.fullmatch(r"http://[^/]+/password/kpw_[\w-]+", link), link
    assert "Waiting to set a password" in page.locator("#users").inner_text()
    shot(page, "users")
    assert axe_violations(page) == []

    newcomer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    theirs = newcomer.new_page()
    _set_password(theirs, link, FIRST)
    assert "/sign-in" in theirs.url
    assert "Your password is set" in theirs.locator("#done").inner_text()
    _sign_in(theirs, site, "yamamoto", FIRST)
    assert re.search(r"/branches/\d+/day", theirs.url), theirs.url
    assert "Yokohama" in theirs.locator(".branchbar").inner_text()
    theirs.goto(link)
    assert "used or has expired" in theirs.locator("#link-error").inner_text()

    # The admin resets the password: the old one stops working at once.
    page.goto(f"{site}/users")
    page.click("#users >> text=yamamoto")
    page.wait_for_load_state()
    page.click("#reset")
    page.wait_for_load_state()
    reset_link = page.input_value("#issued-link")
    theirs.goto(f"{site}/me")
    assert "/sign-in" in theirs.url, "the reset ended their session"
    _sign_in(theirs, site, "yamamoto", FIRST)
    assert "wrong" in theirs.locator("#sign-in-error").inner_text()
    _set_password(theirs, reset_link, SECOND)
    _sign_in(theirs, site, "yamamoto", SECOND)
    assert "/sign-in" not in theirs.url

    # On a second browser too; changing the password at /me ends the other one.
    other = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB")
    phone = other.new_page()
    _sign_in(phone, site, "yamamoto", SECOND)
    theirs.click("header .who")
    theirs.wait_for_load_state()
    assert theirs.url.endswith("/me")
    theirs.fill("#current", SECOND)
    theirs.fill("#password", THIRD)
    theirs.fill("#repeat", THIRD)
    theirs.click("#password-form button[type=submit]")
    theirs.wait_for_load_state()
    assert "Your other browsers are signed out" in theirs.locator("#done").inner_text()
    phone.goto(f"{site}/me")
    assert "/sign-in" in phone.url
    theirs.goto(f"{site}/me")
    assert theirs.url.endswith("/me"), "this browser stays signed in"
    newcomer.close()
    other.close()
