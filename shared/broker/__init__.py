"""The broker: topology, frames written together, dead letters and hand-backs."""
