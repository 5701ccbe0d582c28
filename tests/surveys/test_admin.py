from surveys.intake.api_keys import create_api_key
from surveys.models import ApiKey
from tests.factories import OrderFactory, ShopFactory


def test_staff_see_only_their_shops_orders_in_the_admin(client, staff_of):
    mine, theirs = ShopFactory(), ShopFactory()
    OrderFactory(shop=mine, external_id="MINE-1")
    other = OrderFactory(shop=theirs, external_id="THEIRS-1")
    client.force_login(staff_of(mine))

    listing = client.get("/admin/surveys/order/")
    detail = client.get(f"/admin/surveys/order/{other.pk}/change/")

    assert listing.status_code == 200
    assert "MINE-1" in listing.content.decode()
    assert "THEIRS-1" not in listing.content.decode()
    assert detail.status_code == 302  # Django's admin redirects away from objects outside the queryset.
    assert client.get(detail["Location"]).status_code == 200


def test_api_keys_are_stored_hashed(db):
    key, raw = create_api_key(ShopFactory(), name="shopify")

    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in (stored.key_hash, stored.prefix)
    assert raw.startswith(stored.prefix)
    assert len(raw) >= 40


def test_openapi_schema_documents_the_endpoints(client, db):
    schema = client.get("/api/v1/openapi.json").json()

    assert {"/api/v1/orders", "/api/v1/orders/{external_id}", "/api/v1/metrics/nps"} <= set(schema["paths"])
    assert schema["components"]["schemas"]["OrderIn"]["additionalProperties"] is False


def test_a_customers_page_shows_each_invitations_lifecycle_with_its_reason(client, staff_of):
    from surveys.models import Invitation
    from tests.factories import InvitationFactory

    invitation = InvitationFactory(status=Invitation.Status.THROTTLED, reason="already surveyed around 2026-11-03")
    client.force_login(staff_of(invitation.shop))

    page = client.get(f"/admin/surveys/customer/{invitation.customer.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Survey invitations" in html
    assert "Throttled" in html
    assert "already surveyed around 2026-11-03" in html


def test_the_admin_is_bazgashts_with_names_durations_and_reasons_as_people_read_them(client, staff_of):
    from datetime import timedelta

    from feedback.casework.flagging import flag_response
    from surveys.models import Membership
    from tests.factories import ResponseFactory, SurveyFactory

    survey = SurveyFactory(delay=timedelta(days=3), valid_for=timedelta(days=30))
    flag_response(ResponseFactory(invitation__survey=survey, score=2))
    client.force_login(staff_of(survey.shop, role=Membership.Role.ADMIN))

    index = client.get("/admin/").content.decode()
    surveys = client.get("/admin/surveys/survey/").content.decode()
    cases = client.get("/admin/feedback/followup/").content.decode()

    assert "<title>Shop settings | Bazgasht</title>" in index
    assert "Django administration" not in index
    assert 'href="/cases/">View site' in index
    assert "API keys" in index
    assert "Webhook deliveries" in index
    assert '<td class="field-sent_after">3 days</td>' in surveys
    assert '<td class="field-answerable_for">30 days</td>' in surveys
    assert "00:00:00" not in surveys
    assert "Detractor (NPS 0–6)" in cases
    assert "[&quot;detractor&quot;]" not in cases
