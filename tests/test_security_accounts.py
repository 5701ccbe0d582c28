"""Staff accounts: password rules, lockout, TOTP two-factor and session expiry, through the real pages."""

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.accounts import signin
from feedback.accounts.models import LoginFailure, RecoveryCode, TwoFactorDevice
from surveys.models import Membership
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture
def agent():
    user = User.objects.create_user("nasrin", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=user, shop=ShopFactory(), role=Membership.Role.AGENT)
    return user


def sign_in(client, username="nasrin", password=PASSWORD, *, next_url="/cases/", ip="203.0.113.7"):
    return client.post("/login/", {"username": username, "password": password, "next": next_url}, REMOTE_ADDR=ip)


def code_now(device, *, offset=0):
    return signin.totp_code(device.secret, step=signin.totp_step() + offset)


# --- Passwords ---------------------------------------------------------------------------------


def test_passwords_need_twelve_characters_and_must_not_be_common():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Kx9!short")
    with pytest.raises(ValidationError, match="too common"):
        validate_password("password1234")
    validate_password("river-copper-lantern-9")  # passes


# --- Lockout -----------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_with_a_clear_message(client, agent):
    for _ in range(5):
        refused = sign_in(client, password="wrong-password-guess")
        assert "Please enter a correct username and password" in refused.content.decode()

    locked = sign_in(client)  # the right password, now refused

    assert locked.status_code == 200
    assert "Too many failed sign-ins for this account. Try again in 15 minute(s)" in locked.content.decode()
    assert client.get("/cases/").status_code == 302
    assert LoginFailure.objects.filter(username="nasrin").count() == 5  # tries while locked are not counted


def test_the_lock_lifts_after_the_window_and_a_good_sign_in_clears_the_count(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            sign_in(client, password="wrong-password-guess")
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        still_locked = sign_in(client)
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        signed_in = sign_in(client)

    assert "Too many failed sign-ins" in still_locked.content.decode()
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/cases/"
    assert not LoginFailure.objects.filter(username="nasrin").exists()


def test_an_unknown_username_locks_like_a_real_one(client, db):
    for _ in range(5):
        sign_in(client, username="nobody-here", password="guess-guess-guess")

    answer = sign_in(client, username="Nobody-Here", password="guess-guess-guess")

    assert "Too many failed sign-ins for this account" in answer.content.decode()


def test_one_address_guessing_many_accounts_is_locked_out_but_others_are_not(client, agent):
    for number in range(20):
        sign_in(client, username=f"guess{number}", password="wrong-password-guess", ip="198.51.100.9")

    from_there = sign_in(client, ip="198.51.100.9")
    from_elsewhere = sign_in(client, ip="203.0.113.50")

    assert "Too many failed sign-ins for your network address" in from_there.content.decode()
    assert from_elsewhere.status_code == 302


def test_the_admin_signs_in_through_the_same_page_and_the_same_lock(client, agent):
    agent.is_superuser = True
    agent.save()

    admin_login = client.get("/admin/login/?next=/admin/")
    for _ in range(5):
        sign_in(client, password="wrong-password-guess", next_url="/admin/")
    locked = sign_in(client, next_url="/admin/")

    assert admin_login.status_code == 302
    assert admin_login["Location"] == "/login/?next=%2Fadmin%2F"
    assert "Too many failed sign-ins" in locked.content.decode()
    assert client.get("/admin/").status_code == 302


def test_accounts_that_are_not_staff_cannot_sign_in(client, db):
    User.objects.create_user("customer", password=PASSWORD)

    answer = sign_in(client, username="customer")

    assert "This account has no access to the staff pages." in answer.content.decode()


def test_next_may_not_lead_to_another_site(client, agent):
    answer = sign_in(client, next_url="https://evil.example/steal")

    assert answer["Location"] == "/cases/"


# --- TOTP (RFC 6238) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "code"),
    [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
     (2000000000, "69279037"), (20000000000, "65353130")],
)  # fmt: skip
def test_codes_match_the_rfc_6238_test_vectors(at, code):
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890", the RFC's key

    assert signin.totp_code(secret, step=signin.totp_step(at), digits=8) == code


def test_turning_two_factor_on_shows_the_secret_once_and_needs_a_code(client, agent):
    client.force_login(agent)

    client.post("/account/two-factor/", {"action": "start"})
    device = TwoFactorDevice.objects.get(user=agent)
    setup = client.get("/account/two-factor/").content.decode()
    wrong = client.post("/account/two-factor/", {"action": "confirm", "code": "000000"})
    confirmed = client.post("/account/two-factor/", {"action": "confirm", "code": code_now(device)})
    after = client.get("/account/two-factor/").content.decode()

    assert "<svg" in setup
    uri = re.search(r'href="(otpauth://[^"]+)"', setup)[1].replace("&amp;", "&")
    app = pyotp.parse_uri(uri)  # as an authenticator app reads it
    assert uri.startswith("otpauth://totp/Bazgasht:nasrin?")
    assert (app.secret, app.issuer, app.name, app.digits, app.interval) == (device.secret, "Bazgasht", "nasrin", 6, 30)
    assert app.digest().name == "sha1"
    assert wrong.status_code == 422
    page = confirmed.content.decode()
    shown = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)
    assert len(shown) == 10
    stored = set(RecoveryCode.objects.filter(user=agent).values_list("code_hash", flat=True))
    assert {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in shown} == stored
    assert not set(shown) & stored
    assert device.secret not in after
    assert "Recovery codes left: <strong>10</strong>" in after


@pytest.fixture
def enrolled(agent):
    device = signin.start_enrolment(agent)
    codes = signin.confirm_enrolment(device, code_now(device, offset=-1))
    device.refresh_from_db()
    return device, codes


def test_with_two_factor_on_the_password_alone_does_not_sign_in(client, agent, enrolled):
    device, _ = enrolled

    after_password = sign_in(client)
    still_out = client.get("/cases/")
    wrong = client.post("/login/code/", {"code": "123456"})
    right = client.post("/login/code/", {"code": code_now(device)})

    assert after_password["Location"] == "/login/code/"
    assert still_out.status_code == 302
    assert wrong.status_code == 422
    assert right.status_code == 302
    assert right["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


def test_the_admin_asks_for_the_code_too(client, agent, enrolled):
    device, _ = enrolled
    agent.is_superuser = True
    agent.save()

    after_password = sign_in(client, next_url="/admin/")
    admin_before = client.get("/admin/")
    client.post("/login/code/", {"code": code_now(device)})
    admin_after = client.get("/admin/")

    assert after_password["Location"] == "/login/code/"
    assert admin_before.status_code == 302
    assert admin_after.status_code == 200


def test_a_code_works_once(client, agent, enrolled):
    device, _ = enrolled
    code = code_now(device)
    sign_in(client)
    client.post("/login/code/", {"code": code})
    client.post("/logout/")

    sign_in(client)
    replayed = client.post("/login/code/", {"code": code})

    assert replayed.status_code == 422
    assert "each code works once" in replayed.content.decode()


def test_codes_one_step_either_side_count_and_an_earlier_step_than_the_last_never_does(agent, enrolled):
    device, _ = enrolled
    now = (device.last_step + 1) * signin.TOTP_STEP_SECONDS + 1.0  # in the step after the one used

    def code(step_offset):
        return signin.totp_code(device.secret, step=signin.totp_step(now) + step_offset)

    assert signin.verify_second_factor(agent, code(2), now=now) is None  # too far ahead
    assert signin.verify_second_factor(agent, code(-1), now=now) is None  # the step already used
    assert signin.verify_second_factor(agent, code(1), now=now) == "totp"  # a clock a step ahead
    assert signin.verify_second_factor(agent, code(0), now=now) is None  # now before the last accepted
    device.refresh_from_db()
    assert device.last_step == signin.totp_step(now) + 1


def test_a_code_typed_in_persian_digits_is_the_same_code(client, agent, enrolled):
    device, _ = enrolled
    persian = code_now(device).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    sign_in(client)
    superscript = client.post("/login/code/", {"code": "²" * 6})  # digits, but not decimal ones
    right = client.post("/login/code/", {"code": f" {persian[:3]} {persian[3:]} "})

    assert superscript.status_code == 422
    assert right.status_code == 302
    assert right["Location"] == "/cases/"


def test_a_recovery_code_signs_in_once(client, agent, enrolled):
    _, codes = enrolled

    sign_in(client)
    first = client.post("/login/code/", {"code": codes[0].upper()})
    client.post("/logout/")
    sign_in(client)
    again = client.post("/login/code/", {"code": codes[0]})

    assert first.status_code == 302
    assert again.status_code == 422
    assert signin.recovery_codes_left(agent) == 9


def test_wrong_codes_count_towards_the_lockout(client, agent, enrolled):
    device, _ = enrolled
    sign_in(client)
    for _ in range(5):
        client.post("/login/code/", {"code": "000000"})

    locked = client.post("/login/code/", {"code": code_now(device)})

    assert "Too many failed sign-ins" in locked.content.decode()
    assert client.get("/cases/").status_code == 302


def test_the_password_step_expires_after_five_minutes(client, agent, enrolled):
    device, _ = enrolled
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        late = client.post("/login/code/", {"code": code_now(device)})

    assert late.status_code == 302
    assert late["Location"] == "/login/"
    assert client.get("/cases/").status_code == 302


def test_turning_two_factor_off_needs_a_current_code(client, agent, enrolled):
    device, _ = enrolled
    client.force_login(agent)

    refused = client.post("/account/two-factor/", {"action": "off", "code": "000000"})
    turned_off = client.post("/account/two-factor/", {"action": "off", "code": code_now(device, offset=1)})

    assert refused.status_code == 422
    assert turned_off.status_code == 302
    assert not TwoFactorDevice.objects.filter(user=agent).exists()
    assert not RecoveryCode.objects.filter(user=agent).exists()


# --- Sessions ----------------------------------------------------------------------------------


def test_a_session_ends_after_an_hour_without_a_request(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        active = client.get("/cases/")
    with time_machine.travel(start + timedelta(minutes=59 + 61), tick=False):
        idle = client.get("/cases/")

    assert active.status_code == 200
    assert idle.status_code == 302
    assert idle["Location"].startswith("/login/")


def test_a_session_ends_eight_hours_after_signing_in_however_busy(client, agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client)
    statuses = []
    for minutes in range(30, 8 * 60 + 31, 30):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            statuses.append(client.get("/cases/").status_code)

    assert statuses[:-1] == [200] * 16  # every half hour up to 8 hours
    assert statuses[-1] == 302


def test_superusers_unlock_accounts_and_reset_two_factor_in_the_admin_and_nobody_else_does(client, agent, enrolled):
    for _ in range(5):
        sign_in(client, password="wrong-password-guess")
    shop_admin = User.objects.create_user("boss", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=shop_admin, shop=ShopFactory(), role=Membership.Role.ADMIN)
    root = User.objects.create_superuser("root", password=PASSWORD)

    client.force_login(shop_admin)
    refused = client.get("/admin/feedback/loginfailure/")
    client.force_login(root)
    client.post(
        "/admin/feedback/twofactordevice/",
        {"action": "delete_selected", "_selected_action": [enrolled[0].pk], "post": "yes"},
    )
    client.post(
        "/admin/feedback/loginfailure/",
        {
            "action": "delete_selected",
            "_selected_action": list(LoginFailure.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    client.logout()

    assert refused.status_code == 403
    assert not RecoveryCode.objects.filter(user=agent).exists()
    assert sign_in(client)["Location"] == "/cases/"  # unlocked, and no code asked
