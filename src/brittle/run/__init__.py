"""Running an eval: rows, systems called through the gateway, per-run session state."""
