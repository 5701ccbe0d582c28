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
