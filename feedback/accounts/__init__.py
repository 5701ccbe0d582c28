"""Staff accounts: sign-in with lockout, two-factor (TOTP) and recovery codes, and their pages."""
