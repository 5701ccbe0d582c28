"""The customer's answer page: the link, the questions, the thanks, and the admin's live preview of it."""
