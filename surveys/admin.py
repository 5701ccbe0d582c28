from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify

from config.searches import SearchOutsideUrls
from surveys import import_mapping, phones, privacy
from surveys.api_keys import create_api_key
from surveys.csv_import import COLUMNS, MAX_ROWS, REQUIRED_COLUMNS, CsvFileError, import_orders
from surveys.models import (
    ApiKey,
    ApiScope,
    Customer,
    Erasure,
    Invitation,
    Membership,
    Order,
    PendingImport,
    Question,
    Shop,
    Suppression,
    Survey,
    WebhookDelivery,
    WebhookSource,
    default_api_scopes,
)
from surveys.orders import cancel_scheduled
from surveys.queries import rows_of_shops, shops_of
from surveys.standard_questions import add_standard_questions


class ShopScopedAdmin(SearchOutsideUrls):
    """Staff see and pick only rows of the shops they belong to (with one of `roles`, if set)."""

    shop_path = "shop"
    # The shop's settings (surveys, rules, keys, members) are its admins' to change.
    roles: tuple[str, ...] | None = None
    # Django 6 assumes https for a URL typed without a scheme; say so now (5.2 warns otherwise).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.shop_path}__in": shops_of(request.user, roles=self.roles)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_foreignkey(db_field, request, **self._scoped(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_manytomany(db_field, request, **self._scoped(db_field, request, kwargs))

    def _scoped(self, db_field: Any, request: HttpRequest, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Every relation offers, and so accepts on save (select, raw id or autocomplete alike),
        only rows of the user's shops: a shop's own row, its customers, orders, surveys, staff."""
        if request.user.is_superuser:
            return kwargs
        shops = shops_of(request.user, roles=self.roles if db_field.related_model is Shop else None)
        rows = rows_of_shops(db_field.related_model, shops)
        return kwargs if rows is None else {**kwargs, "queryset": rows}

    # Without the role in any shop these pages are a 403 and hidden from the index, not an empty
    # list and an add form with no shop to pick.
    def _has_role(self, request: HttpRequest) -> bool:
        if self.roles is None or request.user.is_superuser:
            return True
        known: dict[tuple[str, ...], bool] = request.__dict__.setdefault("_bazgasht_roles", {})
        if self.roles not in known:
            known[self.roles] = shops_of(request.user, roles=self.roles).exists()
        return known[self.roles]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._has_role(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_delete_permission(request, obj)


SHOP_ADMINS = (Membership.Role.ADMIN,)


@admin.register(Shop)
class ShopAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    shop_path = "pk"
    list_display = ["name", "slug", "timezone", "default_language", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (
            None,
            {"fields": ["name", "slug", "brand_name", "brand_color", "support_email", "timezone", "default_language"]},
        ),
        (
            "Sending",
            {"fields": [("send_from_hour", "send_until_hour"), "throttle_days", "sms_enabled", "phone_region"]},
        ),
        (
            "Answer page",
            {"fields": ["answer_edit_window", "follow_up_enabled", "review_url", "referral_url"]},
        ),
        ("Privacy", {"fields": ["consent_basis", "retention_months", "retention_purges_reports"]}),
    ]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["user", "shop", "role"]
    list_filter = ["role"]
    list_select_related = ["user", "shop"]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.TypedMultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=default_api_scopes,
        help_text="Give each integration only what it needs: a reporting tool needs read alone.",
    )

    class Meta:
        model = ApiKey
        fields = ["shop", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin):
    """Keys are made here (the key is shown once, in the message after saving), scoped, and revoked."""

    roles = SHOP_ADMINS
    form = ApiKeyForm
    list_display = ["name", "prefix", "shop", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["shop"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = create_api_key(obj.shop, name=obj.name, scopes=obj.scopes)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        self.message_user(request, f"The new key is {raw} . Copy it now: it is stored hashed and not shown again.")

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{revoked} key(s) revoked.")


# Every step of an invitation's life, with its time and, at an end, the reason.
LIFECYCLE = [
    "survey", "order", "channel", "status", "send_at", "sent_at", "opened_at", "reminded_at",
    "answered_at", "expires_at", "closed_at", "reason",
]  # fmt: skip


class InvitationHistory(admin.TabularInline):
    """The customer's (or order's) surveys: what went out, what came back, and what stopped one."""

    model = Invitation
    fields = tuple(LIFECYCLE)
    readonly_fields = LIFECYCLE
    extra = 0
    can_delete = False
    ordering = ["-send_at"]
    verbose_name_plural = "Survey invitations"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("survey", "order")


@admin.register(Customer)
class CustomerAdmin(ShopScopedAdmin):
    list_display = ["__str__", "email", "phone", "language", "consent", "anonymised_at", "shop"]
    list_filter = ["consent"]
    list_select_related = ["shop"]
    search_fields = ["email", "phone", "name"]
    readonly_fields = ["consent_source", "anonymised_at", "created_at"]
    inlines = [InvitationHistory]
    # Exporting and erasing a customer's data are the shop admins' to do (a data request).
    actions = ["export_data", "erase"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> tuple[Any, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        # Phones are stored in E.164: "0912 123 4567" finds +989121234567, read in each of the user's shops' regions.
        regions = {phones.region_of(shop) for shop in shops_of(request.user)}
        numbers = {phones.normal_or_as_typed(search_term, region) for region in regions} - {search_term.strip()}
        if search_term.strip() and numbers:
            found = found | queryset.filter(phone__in=numbers)
        return found, duplicates

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if "consent" in form.changed_data:
            obj.consent_source = "admin"
            if "consent_at" not in form.changed_data:
                obj.consent_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a customer deletes their answers and changes the shop's numbers; the *Erase*
        # action removes what identifies them and keeps the numbers (surveys.privacy).
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not shops_of(request.user, roles=SHOP_ADMINS).exists():
            for name in ("export_data", "erase"):
                actions.pop(name, None)
        return actions

    @admin.action(description="Export all data held about the selected customers (JSON)", permissions=["view"])
    def export_data(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        customers = self._of_my_shops(request, queryset)
        exports = [privacy.export_customer(customer) for customer in customers]
        name = f"customer-{customers[0].pk}.json" if len(exports) == 1 else "customers.json"
        answer = JsonResponse(
            exports[0] if len(exports) == 1 else {"customers": exports},
            json_dumps_params={"ensure_ascii": False, "indent": 2},
        )
        answer["Content-Disposition"] = f'attachment; filename="{name}"'
        return answer

    @admin.action(description="Erase the selected customers (personal data and comments)", permissions=["change"])
    def erase(self, request: HttpRequest, queryset: QuerySet[Customer]) -> TemplateResponse | None:
        """Asks first, listing what happens; erases on the confirming POST."""
        customers = self._of_my_shops(request, queryset)
        if not customers:
            self.message_user(request, "None of the selected customers is yours to erase.", messages.WARNING)
            return None
        if request.POST.get("confirmed") == "yes":
            for customer in customers:
                privacy.erase_customer(customer, by=request.user, via="admin")  # type: ignore[arg-type]
            self.message_user(request, f"{len(customers)} customer(s) erased; the erasure is in the audit trail.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase customers?",
            "customers": customers,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/surveys/customer/erase_confirmation.html", context)

    def _of_my_shops(self, request: HttpRequest, queryset: QuerySet[Customer]) -> list[Customer]:
        if (
            not request.user.is_superuser
            and queryset.exclude(shop__in=shops_of(request.user, roles=SHOP_ADMINS)).exists()
        ):
            raise PermissionDenied
        return list(queryset.select_related("shop").order_by("pk"))


@admin.register(Erasure)
class ErasureAdmin(ShopScopedAdmin):
    """The audit trail of erasures: who erased which customer, when. Written by erasures only."""

    roles = SHOP_ADMINS
    list_display = ["at", "customer_id", "requested_by", "via", "shop"]
    list_select_related = ["shop", "requested_by"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(ShopScopedAdmin):
    list_display = ["address", "channel", "reason", "detail", "shop", "created_at"]
    list_filter = ["reason", "channel"]
    list_select_related = ["shop"]
    search_fields = ["address"]


class ImportOrdersForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=Shop.objects.none())
    file = forms.FileField(help_text="A CSV file in UTF-8, comma- or semicolon-separated, with a header row.")
    schedule_surveys = forms.BooleanField(
        required=False,
        help_text="Survey the orders recent enough for a survey to still be open. Leave off for past orders.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A shop the user does not belong to is not a valid choice, whatever the form posts.
        self.fields["shop"].queryset = shops_of(user)  # type: ignore[attr-defined]


class ColumnMappingForm(forms.Form):
    """One choice per column of an uploaded file: the field it holds, or nothing."""

    CHOICES = [("", "— leave out —"), *import_mapping.FIELD_LABELS.items()]

    def __init__(self, header: list[str], data: Any = None, *, initial: dict[str, str] | None = None) -> None:
        super().__init__(data, initial=initial)
        self.header = header
        self.fields["currency"] = forms.CharField(
            label="Currency of every order",
            required=False,
            max_length=3,
            help_text="If no column holds the currency (IRR, EUR…), the one all these orders are in.",
        )
        for index, name in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or f"column {index + 1}",
                choices=self.CHOICES,
                required=False,
            )

    def clean_currency(self) -> str:
        currency = str(self.cleaned_data.get("currency", "")).strip().upper()
        if currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            raise forms.ValidationError("a 3-letter currency code such as IRR or EUR")
        return currency

    def mapping(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"column_{index}"]
            for index, name in enumerate(self.header)
            if self.cleaned_data[f"column_{index}"]
        }


@admin.register(Order)
class OrderAdmin(ShopScopedAdmin):
    list_display = [
        "external_id", "number", "customer", "total", "currency", "placed_at", "fulfilled_at", "is_test", "shop"
    ]  # fmt: skip
    list_filter = ["is_test", "source"]
    list_select_related = ["customer", "shop"]
    search_fields = ["external_id", "number", "customer__email"]
    raw_id_fields = ["customer"]
    date_hierarchy = "placed_at"
    inlines = [InvitationHistory]

    def get_urls(self) -> list[Any]:
        import_url = path("import/", self.admin_site.admin_view(self.import_view), name="surveys_order_import")
        map_url = path(
            "import/<int:pending_id>/map/", self.admin_site.admin_view(self.map_view), name="surveys_order_import_map"
        )
        return [import_url, map_url, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Import past orders from an uploaded CSV into one of the user's shops, and show the report."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ImportOrdersForm(request.POST, request.FILES, user=request.user)
            if form.is_valid():
                shop, upload = form.cleaned_data["shop"], form.cleaned_data["file"]
                schedule = form.cleaned_data["schedule_surveys"]
                try:
                    text = import_mapping.decode(upload.read())
                    header, _ = import_mapping.first_rows(text, 0)
                    if import_mapping.needs_mapping(header):
                        # Another store's export: its columns are mapped first (map_view).
                        pending = PendingImport.objects.create(
                            shop=shop,
                            uploaded_by=request.user,  # type: ignore[misc]  # admin_view: signed in
                            file_name=upload.name[:200],
                            text=text,
                            schedule_surveys=schedule,
                        )
                        return redirect("admin:surveys_order_import_map", pending_id=pending.pk)
                    report = import_orders(shop, import_mapping.rows_of(text), schedule_surveys=schedule)
                except CsvFileError as error:
                    form.add_error("file", f"{error.message}; nothing was imported")
        else:
            form = ImportOrdersForm(user=request.user)
        context = {**self._import_context(request, form), "report": report}
        return TemplateResponse(request, "admin/surveys/order/import.html", context)

    def _import_context(self, request: HttpRequest, form: forms.Form) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import orders from CSV",
            "form": form,
            "report": None,
            "columns": COLUMNS,
            "required_columns": REQUIRED_COLUMNS,
            "max_rows": f"{MAX_ROWS:,}",
        }

    def map_view(self, request: HttpRequest, pending_id: int) -> HttpResponse:
        """Map the columns of an uploaded export, preview what would be stored, and import it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        pending = get_object_or_404(
            PendingImport.objects.select_related("shop"), pk=pending_id, shop__in=shops_of(request.user)
        )
        header, sample = import_mapping.first_rows(pending.text)
        preview = None
        if request.method == "POST":
            form = ColumnMappingForm(header, request.POST)
            if form.is_valid():
                mapping, currency = form.mapping(), form.cleaned_data["currency"]
                try:
                    if request.POST.get("action") == "import":
                        report = import_mapping.run(pending, mapping, currency=currency)
                        context = {
                            **self._import_context(request, ImportOrdersForm(user=request.user)),
                            "report": report,
                        }
                        return TemplateResponse(request, "admin/surveys/order/import.html", context)
                    preview = import_mapping.preview(
                        pending.shop,
                        pending.text,
                        mapping,
                        currency=currency,
                        schedule_surveys=pending.schedule_surveys,
                    )
                except CsvFileError as error:
                    form.add_error(None, f"{error.message}; nothing was imported")
        else:
            mapping, currency = import_mapping.suggested(pending.shop, header)
            initial = {f"column_{index}": mapping.get(name, "") for index, name in enumerate(header)}
            form = ColumnMappingForm(header, initial={**initial, "currency": currency})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Map the columns of {pending.file_name}",
            "pending": pending,
            "form": form,
            "columns": [
                (form[f"column_{index}"], name, [row[index] if index < len(row) else "" for row in sample])
                for index, name in enumerate(header)
            ],
            "preview": preview,
        }
        return TemplateResponse(request, "admin/surveys/order/map.html", context)


class OptionsField(forms.CharField):
    """A choice question's options, one per line: "value | English | Persian".

    The value is what answers store, so renaming an option's text keeps its answers;
    it may be left out ("English | Persian") and is then made from the English text.
    """

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60, "placeholder": "late | Delivery was late | تحویل دیر بود"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(" | ".join([o["value"], o.get("en", ""), o.get("fa", "")]).rstrip(" |") for o in value)
        return value

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        options: list[dict[str, str]] = []
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            parts = [part.strip() for part in line.split("|")]
            if not any(parts):
                continue
            if len(parts) > 3:
                raise forms.ValidationError(f"Line {number} has {len(parts)} parts; use value | English | Persian.")
            if len(parts) == 3:
                option_value, english, persian = parts
            else:
                english, persian = parts[0], parts[1] if len(parts) == 2 else ""
                option_value = slugify(english).replace("-", "_")
            if not english:
                raise forms.ValidationError(f"Line {number} needs its English text.")
            if not option_value:
                raise forms.ValidationError(f"Line {number} needs a value made of Latin letters or digits.")
            if option_value in {option["value"] for option in options}:
                raise forms.ValidationError(f"Line {number} repeats the value {option_value!r}.")
            options.append({"value": option_value, "en": english, "fa": persian})
        return options


class QuestionForm(forms.ModelForm):
    options = OptionsField(
        required=False, help_text="Single and multiple choice only. One option per line: value | English | Persian."
    )

    class Meta:
        model = Question
        fields = ["position", "kind", "text", "text_fa", "options", "required", "show_from", "show_to", "topic"]
        labels = {"show_from": "Show when the first score is from", "show_to": "to"}
        help_texts = {
            "show_from": "Leave both empty to always show. For example 0 to 6 asks detractors what to improve.",
            "topic": "What happens after the purchase that this question is about; reports group by it.",
        }


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionForm
    extra = 0
    fieldsets = [
        (None, {"fields": [("position", "kind", "required", "topic"), "text", "text_fa", "options"]}),
        ("Follow-up band", {"fields": [("show_from", "show_to")]}),
    ]


@admin.register(Survey)
class SurveyAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["name", "shop", "trigger", "delay", "valid_for", "is_active"]
    list_select_related = ["shop"]
    inlines = [QuestionInline]
    # The change page shows a live preview of the answer page beside the form.
    change_form_template = "admin/surveys/survey/change_form.html"
    fieldsets = [
        (None, {"fields": ["shop", "name", "is_active", "heading", "heading_fa"]}),
        ("When it is sent", {"fields": ["trigger", "delay", "valid_for", "reminder_after"]}),
        (
            "Which orders",
            {"fields": ["min_order_total", "include_skus", "exclude_skus", "customers", "sample_percent"]},
        ),
    ]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and not form.instance.questions.exists():
            add_standard_questions(form.instance)
            self.message_user(request, "The survey starts with the standard questions in English and Persian.")


@admin.register(Invitation)
class InvitationAdmin(ShopScopedAdmin):
    """The record of what went out and why: made by the rules, never by hand, and not edited (an
    edit could set a sent survey back to scheduled and send it again, or aim it at another
    customer). A scheduled one can be cancelled."""

    list_display = ["pk", "customer", "order", "survey", "channel", "status", "send_at", "sent_at", "reason"]
    list_filter = ["status", "channel"]
    list_select_related = ["customer", "order", "survey"]
    search_fields = ["customer__email", "order__external_id", "order__number"]
    actions = ["cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Cancel the selected surveys not sent yet", permissions=["view"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        cancelled = cancel_scheduled(queryset, reason=f"cancelled in the admin by {request.user}")
        self.message_user(request, f"{cancelled} scheduled survey(s) cancelled; the others had gone out or stopped.")


@admin.register(WebhookSource)
class WebhookSourceAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["shop", "platform", "webhook_url", "previous_secret_until", "created_at"]
    list_filter = ["platform"]
    list_select_related = ["shop"]
    readonly_fields = ["webhook_url", "created_at"]

    @admin.display(description="Webhook URL (paste it into the store)")
    def webhook_url(self, source: WebhookSource) -> str:
        if source.pk is None:
            return "shown once saved"
        path = reverse(f"{source.platform}_webhook", kwargs={"shop_slug": source.shop.slug})
        return settings.PUBLIC_URL + path


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ShopScopedAdmin):
    """A log of the deliveries taken, kept to drop repeats; nothing here is edited by hand."""

    shop_path = "source__shop"
    list_display = ["received_at", "topic", "delivery_id", "source"]
    list_filter = ["topic", "source__platform"]
    list_select_related = ["source__shop"]
    search_fields = ["delivery_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
