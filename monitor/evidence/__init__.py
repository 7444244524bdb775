"""Evidence packs: what a page looked like, captured before it is deleted, in a form that can be
checked later (the Berkeley Protocol's minimum: URL, HTML, full-page capture, hash, time, chain
of custody).

- capture.py: one capture (raw fetch into the WARC, robots.txt, browser, files, rows);
- browser.py and proxy.py: Chromium walled in behind the SSRF guard;
- pack.py: the folder, manifest, custody log, WARC writing and zip;
- verify.py: `evidence verify`, pure reading;
- access.py: export with a custody line, the automatic capture of urgent mentions, and the
  removal of folders whose mention was purged or erased.
"""

from monitor.evidence.access import capture_queued, export_pack, remove_orphan_folders
from monitor.evidence.capture import EvidenceError, Pack, capture_for_mention, capture_url
from monitor.evidence.pack import export_zip
from monitor.evidence.verify import verify

__all__ = [
    "EvidenceError",
    "Pack",
    "capture_for_mention",
    "capture_queued",
    "capture_url",
    "export_pack",
    "export_zip",
    "remove_orphan_folders",
    "verify",
]
