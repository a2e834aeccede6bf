"""A running service: its lifecycle, settings, health server and one-line problems."""
