"""The offline demo: recorded public mentions replayed from a local server, through the real
service, into a local SMTP server. `mention-monitor demo` runs it."""
