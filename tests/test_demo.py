"""`mention-monitor demo`: the whole product offline, with its own replay and SMTP servers."""

from __future__ import annotations

import email
import re
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    out = result.output
    # Every recorded source was collected without error.
    for source in (
        "gazette",
        "google-news",
        "mastodon",
        "bluesky",
        "reddit",
        "hackernews",
        "reviews",
    ):
        row = next(line for line in out.splitlines() if line.startswith(f"ankermoor/{source}"))
        assert int(row.split()[1]) > 0, row
    m = re.search(r"mentions stored:\s+(\d+) \((\d+) urgent\)", out)
    assert m and int(m.group(1)) >= 10 and int(m.group(2)) >= 3, out
    # Namesakes were fetched but not stored; the syndicated copy was recognised.
    assert re.search(r"ankermoor/gazette\s+4\s+2\s+0\s+2", out), out
    # The columns add up: every match is either a duplicate or stored.
    header = next(line for line in out.splitlines() if line.startswith("source "))
    assert header.split()[:5] == ["source", "fetched", "matched", "duplicates", "stored"]
    for line in out.splitlines():
        if line.startswith("ankermoor/"):
            fetched, matched, dupes, stored = (int(x) for x in line.split()[1:5])
            assert matched == dupes + stored and fetched >= matched, line
    sent = re.search(r"emails sent:\s+(\d+) .*the SMTP server received (\d+)", out)
    assert sent and sent.group(1) == sent.group(2) and int(sent.group(1)) >= 5, out
    assert "digest 1" in out and "urgent" in out and "provider" in out
    emls = sorted((folder / "mail").glob("*.eml"))
    assert len(emls) == int(sent.group(2))
    bodies = []
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes())
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                bodies.append(part.get_payload(decode=True).decode())
    joined = "\n".join(bodies)
    # Never spread the leak: the recorded phone number and postcode are not in any email.
    assert "07700 900123" not in joined and "B79 0XZ" not in joined
    assert "[phone removed]" in joined
    # The digest states the retention policy.
    assert "Mentions are kept for 90 days" in joined
    # A second run starts clean (the folder is the demo's own).
    again = CliRunner().invoke(cli, ["demo", "--dir", str(folder)])
    assert again.exit_code == 0, again.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    refused = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "mine")])
    assert refused.exit_code == 2 and (tmp_path / "mine" / "precious.txt").exists()
