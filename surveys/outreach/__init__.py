"""Reaching customers: who is surveyed and when (planning), sending by email and SMS, reminders,
the survey link's tokens, consent, the suppression list and unsubscribes."""
