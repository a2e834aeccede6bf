"""Decisions: each child's outcome, plans, core group and review dates, CP-IS and census facts."""
