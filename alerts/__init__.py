"""Alerts: who hears about a mention and how.

rules (pure: mention + assessment -> notices), digest (the daily digest and its timing),
render (pure: notice -> email), outbox (transactional outbox and dispatcher), smtp (transports),
subscriptions and tokens (double opt-in, unsubscribe links).
"""
