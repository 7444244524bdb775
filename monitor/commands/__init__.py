"""Command groups of the `mention-monitor` CLI, one module per area; monitor/cli.py registers them."""
