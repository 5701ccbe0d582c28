from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from feedback.models import Answer, Response
from surveys.models import Customer, Invitation, Order, Question, Shop, Survey
from surveys.standard_questions import add_standard_questions


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    timezone = "Asia/Tehran"
    # Tests send at any hour unless they are about the sending window.
    send_from_hour = 0
    send_until_hour = 24


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    shop = factory.SubFactory(ShopFactory)
    name = "After purchase"
    trigger = Survey.Trigger.PURCHASE
    delay = timedelta(0)

    @factory.post_generation
    def questions(self, create: bool, extracted: object, **kwargs: object) -> None:
        """NPS and a comment; questions="standard" gives the set a new survey starts with, False none."""
        if not create or extracted is False:
            return
        if extracted == "standard":
            add_standard_questions(self)
            return
        Question.objects.create(survey=self, kind=Question.Kind.NPS, position=0, text="How likely…?", required=True)
        Question.objects.create(survey=self, kind=Question.Kind.COMMENT, position=1, text="Why?", text_fa="چرا؟")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    customer = factory.SubFactory(CustomerFactory, shop=factory.SelfAttribute("..shop"))
    external_id = factory.Sequence(lambda n: f"A-{1000 + n}")
    total = Decimal("49.90")
    currency = "EUR"
    placed_at = factory.LazyFunction(timezone.now)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    survey = factory.SubFactory(SurveyFactory)
    shop = factory.SelfAttribute("survey.shop")
    order = factory.SubFactory(OrderFactory, shop=factory.SelfAttribute("..shop"))
    customer = factory.SelfAttribute("order.customer")
    send_at = factory.LazyFunction(timezone.now)


class ResponseFactory(factory.django.DjangoModelFactory):
    """An answered invitation; pass score= and comment= for its answers."""

    class Meta:
        model = Response
        skip_postgeneration_save = True

    invitation = factory.SubFactory(InvitationFactory, status=Invitation.Status.ANSWERED)
    shop = factory.SelfAttribute("invitation.shop")
    survey = factory.SelfAttribute("invitation.survey")
    customer = factory.SelfAttribute("invitation.customer")
    submitted_at = factory.LazyFunction(timezone.now)
    completed_at = factory.SelfAttribute("submitted_at")

    @factory.post_generation
    def score(self, create: bool, extracted: int | None, **kwargs: object) -> None:
        if create and extracted is not None:
            Answer.objects.create(response=self, question=self.survey.questions.get(kind="nps"), score=extracted)

    @factory.post_generation
    def comment(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Answer.objects.create(response=self, question=self.survey.questions.get(kind="comment"), text=extracted)
