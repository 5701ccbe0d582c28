"""What real email providers and inboxes expect: the shop's Reply-To, and a provider that cannot
work said so by `manage.py check` rather than at the first survey."""

import subprocess
import sys

import pytest
from django.core.mail import get_connection

from feedback.casework import cases
from feedback.casework.flagging import flag_response
from surveys import checks
from surveys.models import Invitation
from surveys.outreach.sending import send_due_invitations
from tests.factories import InvitationFactory, ResponseFactory

pytestmark = pytest.mark.django_db


def test_survey_emails_carry_the_shops_support_address_as_reply_to(survey, mailbox):
    survey.shop.support_email = "support@gol.example"
    survey.shop.save()
    InvitationFactory(survey=survey, order__shop=survey.shop)
    InvitationFactory(survey=survey, order__shop=survey.shop, order__customer__shop=survey.shop)

    send_due_invitations()

    assert Invitation.objects.filter(status="sent").count() == 2
    assert [message["Reply-To"] for message in mailbox.messages] == ["support@gol.example"] * 2


def test_without_a_support_address_there_is_no_reply_to(survey, mailbox):
    InvitationFactory(survey=survey, order__shop=survey.shop)

    send_due_invitations()

    assert [message["Reply-To"] for message in mailbox.messages] == [None]


@pytest.mark.parametrize(
    ("agent_email", "reply_to"), [("mina@gol.example", "mina@gol.example"), ("", "support@gol.example")]
)
def test_a_case_reply_goes_back_to_the_agent_or_the_shops_support_address(
    survey, staff_of, mailbox, agent_email, reply_to
):
    survey.shop.support_email = "support@gol.example"
    survey.shop.save()
    case = flag_response(ResponseFactory(invitation__survey=survey, score=1))
    agent = staff_of(survey.shop)
    agent.email = agent_email
    agent.save()

    cases.reply(case, "We are sorry; a new one is on its way.", by=agent)

    assert [message["Reply-To"] for message in mailbox.messages] == [reply_to]


def test_a_provider_whose_package_is_missing_is_a_check_error(settings, monkeypatch):
    # boto3 is not installed here; None in sys.modules makes sure of it, as `import boto3` then fails.
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.delitem(sys.modules, "anymail.backends.amazon_ses", raising=False)
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"

    [error] = checks.email_provider_is_installed()

    assert (error.id, error.level) == ("bazgasht.E001", 40)
    assert "pip install -e '.[amazon-ses]'" in error.hint
    with pytest.raises(ImportError):
        get_connection()  # what the check saves a shop from finding out at the first survey


def test_mailgun_without_its_signing_key_is_a_check_warning(settings):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key"}

    [warning] = checks.email_provider_is_installed()
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key", "MAILGUN_WEBHOOK_SIGNING_KEY": "signing"}

    assert (warning.id, "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY" in warning.msg) == ("bazgasht.W001", True)
    assert checks.email_provider_is_installed() == []


def test_manage_py_check_fails_on_a_provider_that_cannot_be_loaded(tmp_path):
    env = {"EMAIL_BACKEND": "anymail.backends.nosuchprovider.EmailBackend", "DEBUG": "true", "PATH": "/usr/bin:/bin",
           "BAZGASHT_VAR_DIR": str(tmp_path)}  # fmt: skip

    run = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False, timeout=120
    )

    assert run.returncode == 1
    assert "bazgasht.E001" in run.stderr
