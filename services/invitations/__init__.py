"""Invitations: who is invited, their responses, quorum, timescales and exclusions."""
