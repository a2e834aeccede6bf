"""Storage: the engine and its dialects, the tables, aggregates, inbox, parked events,
timers and outbox rows, locks and retention."""
