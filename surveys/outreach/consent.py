"""Who a shop may contact: its consent basis, and what each customer said about being contacted.

A shop surveys on one of two grounds (Shop.consent_basis):

- legitimate interest (the default): a survey about a purchase just made goes to every buyer
  who has not objected. Not having ticked a marketing box is no objection; opting out at the
  store (Shopify's "unsubscribed") or unsubscribing from a survey is.
- consent: only customers who opted in are surveyed.

What a customer said comes with their orders (the API's `customer.consent`, Shopify's
marketing consent, a WooCommerce order field, a CSV column) and is kept on the customer with
its time and source; a later statement replaces an earlier one, an order that says nothing
changes nothing. The rule is checked when invitations are planned and again just before each
message goes out, beside the suppression list.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from surveys.models import Consent, Customer, Shop

WITHDRAWN_REASON = "the customer opted out of being contacted (consent withdrawn)"
NOT_OPTED_IN_REASON = "the shop surveys only customers who opted in, and this customer has not"

# Words a CSV cell or a store field may use for each statement.
_WORDS = {
    Consent.GRANTED: {"granted", "yes", "y", "true", "1", "opt_in", "opted_in", "subscribed"},
    Consent.NOT_GRANTED: {"not_granted", "no", "n", "false", "0", "not_subscribed"},
    Consent.WITHDRAWN: {"withdrawn", "opt_out", "opted_out", "unsubscribed"},
}
# Shopify's email_marketing_consent.state: "pending" is a double opt-in not yet confirmed;
# "redacted" means the customer's data was erased at Shopify's end.
_SHOPIFY_STATES = {
    "subscribed": Consent.GRANTED,
    "not_subscribed": Consent.NOT_GRANTED,
    "pending": Consent.NOT_GRANTED,
    "invalid": Consent.NOT_GRANTED,
    "unsubscribed": Consent.WITHDRAWN,
    "redacted": Consent.WITHDRAWN,
}
# The order meta field a WooCommerce checkout writes the customer's answer into (WooCommerce
# itself records no consent; a checkbox plugin or a line of the theme's code stores it here).
WOOCOMMERCE_CONSENT_META_KEY = "bazgasht_consent"


def contact_refusal(shop: Shop, customer: Customer) -> str:
    """Why the shop may not contact this customer on consent grounds, or "" when it may."""
    if customer.consent == Consent.WITHDRAWN:
        return WITHDRAWN_REASON
    if shop.consent_basis == Shop.ConsentBasis.OPT_IN and customer.consent != Consent.GRANTED:
        return NOT_OPTED_IN_REASON
    return ""


def parse_consent(value: str) -> str:
    """A consent statement in words (granted / not_granted / withdrawn, yes / no …); ValueError otherwise."""
    word = value.strip().lower().replace("-", "_").replace(" ", "_")
    for consent, words in _WORDS.items():
        if word in words:
            return str(consent)
    raise ValueError(f"{value!r} is not a consent (granted, not_granted or withdrawn)")


def is_newer(consent_at: datetime | None, than: datetime | None) -> bool:
    """Whether a statement made at `consent_at` replaces one made at `than` (None: unknown, oldest)."""
    return than is None or (consent_at is not None and consent_at >= than)


def shopify_consent(order: Mapping[str, Any], customer: Mapping[str, Any]) -> tuple[str, str]:
    """(consent, ISO time or "") from a Shopify order: the customer's current email marketing
    consent where the API sends it (2022-04 on), else this checkout's box, else the customer's
    older accepts_marketing."""
    marketing = customer.get("email_marketing_consent")
    if isinstance(marketing, Mapping) and marketing.get("state") in _SHOPIFY_STATES:
        return str(_SHOPIFY_STATES[marketing["state"]]), str(marketing.get("consent_updated_at") or "")
    if isinstance(order.get("buyer_accepts_marketing"), bool):
        return str(Consent.GRANTED if order["buyer_accepts_marketing"] else Consent.NOT_GRANTED), ""
    if isinstance(customer.get("accepts_marketing"), bool):
        consent = Consent.GRANTED if customer["accepts_marketing"] else Consent.NOT_GRANTED
        return str(consent), str(customer.get("accepts_marketing_updated_at") or "")
    return "", ""


def woocommerce_consent(order: Mapping[str, Any]) -> str:
    """The consent a WooCommerce order's meta field records, or "" (WooCommerce has none of its own)."""
    meta = order.get("meta_data")
    if not isinstance(meta, list):
        return ""
    for entry in meta:
        if isinstance(entry, Mapping) and entry.get("key") == WOOCOMMERCE_CONSENT_META_KEY:
            try:
                return parse_consent(str(entry.get("value", "")))
            except ValueError:
                return ""
    return ""
