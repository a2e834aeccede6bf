"""Plumbing every Convene service shares: settings, logging, the CloudEvents envelope,
broker topology, outbox and inbox, timers, the working-day calendar, policies and
persistence helpers. No process rules live here."""
