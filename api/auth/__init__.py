"""Accounts and auth: local accounts or Supabase Auth, API keys, rate limits, room tokens."""
