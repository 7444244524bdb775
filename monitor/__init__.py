"""mention-monitor: watches public mentions of schools and alerts the Headteacher."""

__version__ = "0.1.0"
