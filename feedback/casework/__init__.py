"""The support team's work: flagging dissatisfied customers into cases, the work list and the
case page, the cases API, alerts, and whether the customer came back."""
