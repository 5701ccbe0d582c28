"""`manage.py setup_demo`: the demo shop `make run` opens with: its staff, API key, surveys, a
season of orders and answers (read and flagged as real ones are) and last month's report. Safe to
run again."""

import random
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from feedback.answer_page.answering import submit_answer
from feedback.casework.flagging import due_time, rules_for
from feedback.domain import analyse_response
from feedback.insights.periods import Calendar
from feedback.models import FollowUp
from reports.domain import last_month, make_report_now, schedule_of
from surveys.intake.api_keys import create_api_key
from surveys.intake.orders import CustomerDetails, record_order
from surveys.models import ApiKey, Invitation, Membership, Order, Shop, Survey
from surveys.outreach.tokens import hash_token, new_token
from surveys.standard_questions import add_standard_questions

STAFF_APPS = ["surveys", "feedback", "sentiment", "reports"]

COMMENTS = {
    "detractor": [
        "The parcel arrived broken and nobody answered my emails.",
        "Delivery took three weeks, far too slow.",
        "Wrong size sent twice. Very disappointing.",
        "",
    ],
    "passive": ["It was fine, nothing special.", "Good product but the packaging was damaged.", ""],
    "promoter": [
        "Great quality and fast delivery, thank you!",
        "Excellent service, I will definitely order again.",
        "Lovely shop, the support team was very helpful.",
        "",
    ],
}
NAMES = ["Sara Ahmadi", "Reza Karimi", "Emma Brown", "Ali Rostami", "Mina Jafari", "Noah Wilson", "Leila Hosseini"]


class Command(BaseCommand):
    help = "Create (or refresh) the demo shop, a staff login and an API key, and print them."

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            shop, created = Shop.objects.get_or_create(
                slug="demo",
                defaults={
                    "name": "Demo Shop",
                    "brand_name": "Demo Shop",
                    "timezone": "Asia/Tehran",
                    # The demo answers at any hour, so an order you post is surveyed at once.
                    "send_from_hour": 0,
                    "send_until_hour": 24,
                },
            )
            if created:
                survey = Survey.objects.create(
                    shop=shop, name="After purchase", trigger=Survey.Trigger.PURCHASE, delay=timedelta(0)
                )
                add_standard_questions(survey)
                self._history(shop, survey)
            password = secrets.token_urlsafe(9)
            self._staff_user(shop, password)
            ApiKey.objects.filter(shop=shop, name="demo", revoked_at__isnull=True).update(revoked_at=timezone.now())
            _, api_key = create_api_key(shop, name="demo")
        if created:
            make_report_now(shop, month=last_month(shop, Calendar(schedule_of(shop).report_calendar)))
        self._print(shop, password, api_key)

    def _staff_user(self, shop: Shop, password: str) -> None:
        user, _ = get_user_model().objects.get_or_create(username="demo", defaults={"is_staff": True})
        user.is_staff = True
        user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name="Shop staff")
        group.permissions.set(Permission.objects.filter(content_type__app_label__in=STAFF_APPS))
        user.groups.add(group)
        # The demo user may do everything: work cases, read the numbers, change the shop's settings.
        Membership.objects.update_or_create(user=user, shop=shop, defaults={"role": Membership.Role.ADMIN})

    def _history(self, shop: Shop, survey: Survey) -> None:
        """Thirteen months of orders from customers who come back (or don't), answered surveys
        and worked cases, so the numbers, the work list and the reports have something to show."""
        rng = random.Random(7)
        now = timezone.now()
        customers = [(f"customer{number}@example.com", rng.choice(NAMES)) for number in range(1, 161)]
        for number in range(1, 421):
            placed_at = now - timedelta(days=3 + 395 * rng.random() ** 1.3)  # busier lately
            email, name = customers[min(int(rng.expovariate(1 / 45)), len(customers) - 1)]  # some buy often
            order, _ = record_order(
                shop,
                external_id=f"D-{1000 + number}",
                customer=CustomerDetails(email=email, name=name),
                total=Decimal(rng.randrange(200, 9000)) / 10,
                currency="EUR",
                placed_at=placed_at,
                source=Order.Source.DEMO,
            )
            # History as if it had been surveyed then (the rules would not survey an old order now).
            invitation = Invitation.objects.filter(order=order).first() or Invitation(
                shop=shop, customer=order.customer, order=order, survey=survey, send_at=placed_at
            )
            sent_at = placed_at + timedelta(hours=2)
            invitation.status = Invitation.Status.SENT
            invitation.sent_at = sent_at
            invitation.expires_at = sent_at + survey.valid_for
            invitation.token_hash = hash_token(new_token())
            invitation.save()
            if rng.random() < 0.3:
                continue  # Not everyone answers.
            score = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 3, 4, 7, 9, 10, 9])[0]
            band = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
            response = submit_answer(invitation, score=score, comment=rng.choice(COMMENTS[band]))
            response.submitted_at = response.completed_at = sent_at + timedelta(hours=rng.uniform(1, 48))
            response.save(update_fields=["submitted_at", "completed_at"])
            case = analyse_response(response)
            if case is not None:
                self._work_on(case, rng, now)

    def _work_on(self, case: FollowUp, rng: random.Random, now: datetime) -> None:
        """Flagged when the customer answered, and due by its SLA from then (not from today);
        older cases were mostly called and resolved."""
        flagged_at = case.response.submitted_at
        rules = rules_for(case.shop)
        due_at = due_time(flagged_at, hours=rules.sla_hours(case.priority), rules=rules, tz=case.shop.tz)
        FollowUp.objects.filter(pk=case.pk).update(created_at=flagged_at, due_at=due_at)
        if now - flagged_at < timedelta(days=4) or rng.random() < 0.15:
            return  # still open
        contacted = flagged_at + timedelta(hours=rng.uniform(0.5, 30))
        resolution = rng.choice(list(FollowUp.Resolution.values))
        FollowUp.objects.filter(pk=case.pk).update(
            status=FollowUp.Status.RESOLVED,
            first_contact_at=contacted,
            resolved_at=contacted + timedelta(hours=rng.uniform(1, 72)),
            resolution=resolution,
            goodwill=rng.choice(list(FollowUp.Goodwill.values)) if resolution == FollowUp.Resolution.GOODWILL else "",
        )

    def _print(self, shop: Shop, password: str, api_key: str) -> None:
        base = settings.PUBLIC_URL
        placed_at = timezone.now().isoformat(timespec="seconds")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    self.style.SUCCESS(f"Bazgasht demo shop '{shop.name}' is ready."),
                    f"  Work list     {base}/cases/   user: demo   password: {password}",
                    f"  Dashboard     {base}/dashboard/   Admin {base}/admin/",
                    f"  API docs      {base}/api/v1/docs",
                    f"  API key       {api_key}",
                    f"  For the README's commands, in another shell:   export KEY={api_key}",
                    "  Try it:",
                    f"    curl -X POST {base}/api/v1/orders -H 'Authorization: Bearer {api_key}' \\",
                    '      -H \'Content-Type: application/json\' -d \'{"external_id": "A-1", "total": "49.90",',
                    f'      "currency": "EUR", "placed_at": "{placed_at}",',
                    '      "customer": {"email": "you@example.com", "name": "You"}}\'',
                    "  The survey email appears below in the 'mail' log within seconds; open its link to answer.",
                    "",
                ]
            )
        )
