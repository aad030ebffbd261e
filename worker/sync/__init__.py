"""The sync engine: what the tasks run (bindings, locks, run reports, error list, transfers)."""
