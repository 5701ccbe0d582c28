"""A shop's staff cannot reach another shop's rows through the admin, and no path that writes
rows can link two shops: every relation field of every admin form offers and accepts only the
user's shops, and the database refuses an order, or an invitation, across shops."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.test import RequestFactory

from feedback.casework.flagging import flag_response
from feedback.models import Answer, FollowUp, Response
from sentiment.models import Theme
from surveys.models import Customer, Invitation, Membership, Order, Question, Shop, Survey
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db

STAFF_APPS = ["surveys", "feedback", "sentiment", "reports"]


def a_shop_with_everything(role_user: str) -> dict[type, object]:
    """One row of every model a relation field can name, all of one shop, and a member of it."""
    case = flag_response(ResponseFactory(score=1, comment="Broken and late."))
    response = case.response
    user = User.objects.create_user(role_user, password="a-long-test-password", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Shop staff")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=STAFF_APPS))
    user.groups.add(group)
    Membership.objects.create(user=user, shop=case.shop, role=Membership.Role.ADMIN)
    return {
        Shop: case.shop,
        Survey: response.survey,
        Question: response.survey.questions.first(),
        Customer: response.customer,
        Order: response.invitation.order,
        Invitation: response.invitation,
        Response: response,
        Answer: response.answers.first(),
        FollowUp: case,
        Theme: Theme.objects.create(shop=case.shop, name="gift_wrap", keywords_en="gift wrap"),
        User: user,
    }


@pytest.fixture
def shops():
    return a_shop_with_everything("admin-a"), a_shop_with_everything("admin-b")


def forms_of(model_admin, request, obj):
    """Every form the admin would show this user for the model (add, change and their inlines),
    with the field an inline's formset fills from the parent itself (not from what is posted)."""
    found = []
    if model_admin.has_add_permission(request):
        found.append(("add", model_admin.get_form(request, None), None))
    if obj is not None and model_admin.has_change_permission(request, obj):
        found.append(("change", model_admin.get_form(request, obj, change=True), None))
        for inline in model_admin.get_inline_instances(request, obj):
            formset = inline.get_formset(request, obj)
            found.append((f"inline {inline.model.__name__}", formset.form, formset.fk.name))
    return found


def test_every_relation_field_of_every_admin_offers_and_accepts_only_the_users_shops(shops):
    mine, theirs = shops
    request = RequestFactory().get("/admin/")
    request.user = mine[User]
    checked, problems = 0, []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue  # superusers' pages (staff users, groups, sign-in records)
        obj = model_admin.get_queryset(request).first()
        for form_name, form_class, parent in forms_of(model_admin, request, obj):
            for name, field in form_class.base_fields.items():
                if not isinstance(field, ModelChoiceField) or name == parent:
                    continue
                related = field.queryset.model
                their_row = theirs.get(related)
                if their_row is None:
                    problems.append(f"{model.__name__} {form_name}: no row of another shop for {related.__name__}")
                    continue
                checked += 1
                if field.queryset.filter(pk=their_row.pk).exists():
                    problems.append(f"{model.__name__} {form_name}: {name} offers another shop's {related.__name__}")
                given = [their_row.pk] if isinstance(field, ModelMultipleChoiceField) else their_row.pk
                try:
                    field.clean(given)
                except ValidationError:
                    pass
                else:
                    problems.append(f"{model.__name__} {form_name}: {name} accepts another shop's {related.__name__}")

    assert problems == []
    assert checked >= 10  # the shop, customer, survey, user ... fields of many forms were walked


def test_an_agent_cannot_point_an_order_at_another_shops_customer_in_the_admin(client, shops):
    mine, theirs = shops
    agent = mine[User]
    Membership.objects.filter(user=agent).update(role=Membership.Role.AGENT)  # the lowest role
    order = mine[Order]
    client.force_login(agent)
    page = client.get(f"/admin/surveys/order/{order.pk}/change/").content.decode()
    fields = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))

    answer = client.post(
        f"/admin/surveys/order/{order.pk}/change/",
        {**fields, "customer": theirs[Customer].pk, "invitations-TOTAL_FORMS": 0,
         "invitations-INITIAL_FORMS": 0},
    )  # fmt: skip

    assert answer.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in answer.content.decode()
    order.refresh_from_db()
    assert order.customer == mine[Customer]


def test_invitations_are_a_record_nobody_adds_or_edits_by_hand(client, shops):
    mine, _ = shops
    invitation = mine[Invitation]
    invitation.status = Invitation.Status.SENT
    invitation.save()
    client.force_login(mine[User])

    assert client.get("/admin/surveys/invitation/add/").status_code == 403
    change = client.post(f"/admin/surveys/invitation/{invitation.pk}/change/", {"status": "scheduled"})
    invitation.refresh_from_db()

    assert change.status_code == 403
    assert invitation.status == Invitation.Status.SENT


def test_the_admin_cancels_a_scheduled_survey_and_leaves_one_that_went_out(client, shops):
    mine, _ = shops
    sent = mine[Invitation]
    sent.status = Invitation.Status.SENT
    sent.save()
    later = Order.objects.create(
        shop=sent.shop, customer=sent.customer, external_id="A-2", total=1, currency="EUR", placed_at=sent.send_at
    )
    scheduled = Invitation.objects.create(
        shop=sent.shop, customer=sent.customer, order=later, survey=sent.survey, send_at=sent.send_at
    )
    client.force_login(mine[User])

    client.post("/admin/surveys/invitation/", {"action": "cancel", "_selected_action": [sent.pk, scheduled.pk]})

    assert dict(Invitation.objects.filter(shop=sent.shop).values_list("pk", "status")) == {
        sent.pk: "sent",
        scheduled.pk: "cancelled",
    }


def test_the_database_refuses_an_order_or_an_invitation_across_shops(shops):
    mine, theirs = shops
    order, invitation = mine[Order], mine[Invitation]

    for write in [
        lambda: Order.objects.filter(pk=order.pk).update(customer=theirs[Customer]),
        lambda: Order.objects.create(shop=mine[Shop], customer=theirs[Customer], external_id="X-1", total=1,
                                     currency="EUR", placed_at=order.placed_at),
        lambda: Invitation.objects.filter(pk=invitation.pk).update(survey=theirs[Survey]),
        lambda: Invitation.objects.filter(pk=invitation.pk).update(customer=theirs[Customer]),
        lambda: Invitation.objects.filter(pk=invitation.pk).update(order=theirs[Order]),
        lambda: Invitation.objects.bulk_create([Invitation(shop=mine[Shop], customer=mine[Customer], order=order,
                                                           survey=theirs[Survey], send_at=order.placed_at)]),
    ]:  # fmt: skip
        with pytest.raises(IntegrityError, match="one shop"), transaction.atomic():
            write()

    order.refresh_from_db()
    invitation.refresh_from_db()
    assert order.customer == mine[Customer]
    assert (invitation.survey, invitation.customer, invitation.order) == (mine[Survey], mine[Customer], order)
