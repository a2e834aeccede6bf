"""Plumbing every Convene service shares, grouped by role: `runtime` (a running service),
`application` (applying deliveries and timers), `store` and `broker`, `observability`;
`messages` (the CloudEvents envelope on the wire) and `clock` underneath. No process rules
live here: they are in each service's domain and in `rules`."""
