"""Clients of the two Visma APIs and what they share (errors, transport, limits, tokens)."""
