"""Applying deliveries and timers: the consumer, the group commit, the handler context,
delivery order and the database gate."""
