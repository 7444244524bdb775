"""Checking a pack (`evidence verify PACK.zip`): pure reading, no network, no database.

It checks, and names each failure: the manifest is present and lists every file; each file's
SHA-256 matches its line; each WARC record's WARC-Block-Digest and WARC-Payload-Digest match its
bytes (warcio); the custody log's hash chain is unbroken.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from monitor.evidence.pack import CUSTODY, FILES, KIND_REPORTED, MANIFEST, REPORTED_FILES, WARC

_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")


def verify(path: Path | str) -> list[str]:
    """Problems found in a pack (a .zip or a folder); empty when it verifies."""
    p = Path(path)
    try:
        files = _read(p)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{p}: cannot be read ({exc})"]
    return verify_files(files)


def _read(p: Path) -> dict[str, bytes]:
    if p.is_dir():
        return {f.name: f.read_bytes() for f in p.iterdir() if f.is_file()}
    with zipfile.ZipFile(p) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}


def verify_files(files: dict[str, bytes]) -> list[str]:
    problems: list[str] = []
    manifest = files.get(MANIFEST)
    if manifest is None:
        return [f"{MANIFEST}: missing"]
    listed: dict[str, str] = {}
    for n, line in enumerate(manifest.decode("utf-8", "replace").splitlines(), 1):
        m = _LINE.match(line)
        if m is None:
            problems.append(f"{MANIFEST}: line {n} is not '<sha256>  <file>'")
            continue
        listed[m.group(2)] = m.group(1)
    for name in sorted(set(files) - {MANIFEST} - set(listed)):
        problems.append(f"{name}: not listed in {MANIFEST}")
    for name in _required(files):
        if name not in listed and name not in files:
            problems.append(f"{name}: missing from the pack")
    for name, want in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in {MANIFEST} but missing")
            continue
        got = hashlib.sha256(files[name]).hexdigest()
        if got != want:
            problems.append(f"{name}: SHA-256 is {got}, the manifest says {want}")
    if WARC in files:
        problems += [f"{WARC}: {p}" for p in warc_problems(files[WARC])]
    if CUSTODY in files:
        problems += [f"{CUSTODY}: {p}" for p in custody_problems(files[CUSTODY])]
    return problems


def _required(files: dict[str, bytes]) -> tuple[str, ...]:
    """Every file of a page capture; fewer for a pack of reported material alone."""
    try:
        kind = json.loads(files.get("capture.json", b"{}")).get("kind")
    except (ValueError, AttributeError):
        kind = None
    return REPORTED_FILES if kind == KIND_REPORTED else FILES


def warc_problems(data: bytes) -> list[str]:
    """Each record's digests checked by warcio; a record that cannot be read is a problem."""
    out: list[str] = []
    try:
        it = ArchiveIterator(io.BytesIO(data), check_digests=True)
        for n, rec in enumerate(it, 1):
            if rec.rec_type in ("request", "response") and not rec.rec_headers.get_header(
                "WARC-Block-Digest"
            ):
                out.append(f"record {n}: has no WARC-Block-Digest")
            rec.raw_stream.read()  # reading to the end is what checks the digests
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            kind = rec.rec_type
            for problem in rec.digest_checker.problems:
                out.append(f"record {n} ({kind} {uri}): {problem}")
        if n_records(data) == 0:
            out.append("holds no records")
    except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
        said = [line for line in str(exc).splitlines() if line.strip()]
        out.append(f"cannot be read ({said[0] if said else type(exc).__name__})")
    return out


def n_records(data: bytes) -> int:
    try:
        return sum(1 for _ in ArchiveIterator(io.BytesIO(data)))
    except (ArchiveLoadFailed, OSError, ValueError, EOFError):
        return 0


def custody_problems(data: bytes) -> list[str]:
    """Every line must carry the SHA-256 of the log before it: an edited or removed line breaks
    the chain at the line after it."""
    out: list[str] = []
    seen = b""
    for n, line in enumerate(data.splitlines(keepends=True), 1):
        want = hashlib.sha256(seen).hexdigest()
        m = re.search(rb"\tprev-sha256=([0-9a-f]{64})\n?$", line)
        if m is None or m.group(1).decode() != want:
            out.append(f"line {n} does not follow from the lines before it (edited or removed)")
        seen += line
    return out
