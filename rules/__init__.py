"""The domain's shared vocabulary: effects and timers, the working-day calendar, council
policy, quorum, roles and agencies. Imports nothing of the database or the broker."""
