"""The pack on disk: its folder, the WARC, the manifest, the custody log and the zip.

A pack is a folder `pack-NNNNNN` under `evidence.directory`. `manifest-sha256.txt` lists the
SHA-256 of every other file in `sha256sum` format, so `sha256sum -c manifest-sha256.txt` passes
inside the folder (or the unzipped export). `custody.log` only ever grows: each line carries the
SHA-256 of the log before it (a hash chain), and after each line the manifest's entry for the log
is rewritten, so the manifest keeps covering it.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from monitor.config import Settings
from sources.http import RawResponse

MANIFEST = "manifest-sha256.txt"
CUSTODY = "custody.log"
WARC = "page.warc.gz"
FILES = (
    WARC,
    "screenshot.png",
    "screenshot-mobile.png",
    "page.html",
    "text.txt",
    "capture.json",
    CUSTODY,
)
PREFIX = "pack-"
# capture.json "kind": a captured page (every file of FILES), or what was reported alone (a link
# that was not public, or none): then only REPORTED_FILES must be there.
KIND_PAGE, KIND_REPORTED = "page", "reported"
REPORTED_FILES = ("text.txt", "capture.json", CUSTODY)


def evidence_dir(settings: Settings) -> Path:
    """`evidence.directory`, else an `evidence` folder next to the SQLite database."""
    if settings.evidence.directory:
        return Path(settings.evidence.directory)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "evidence"
    return Path("evidence").resolve()


def folder_name(pack_id: int) -> str:
    return f"{PREFIX}{pack_id:06d}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> str:
    """(Re)write the manifest over every other file; returns the manifest's own SHA-256."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    text = "".join(f"{sha256_file(folder / n)}  {n}\n" for n in names)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append_custody(folder: Path, at: datetime, action: str, actor: str, detail: str = "") -> str:
    """One line appended to the custody log (never rewritten); returns the new manifest hash."""
    log = folder / CUSTODY
    before = sha256_file(log) if log.exists() else hashlib.sha256(b"").hexdigest()
    clean = [s.replace("\t", " ").replace("\n", " ") for s in (action, actor, detail)]
    line = f"{at.isoformat()}\t{clean[0]}\t{clean[1]}\t{clean[2]}\tprev-sha256={before}\n"
    with log.open("a", encoding="utf-8") as f:
        f.write(line)
    return write_manifest(folder)


def export_zip(folder: Path, output: Path) -> Path:
    """The pack's files in a zip (stored, not re-encoded), ready for `evidence verify`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.iterdir()):
            if p.is_file():
                z.write(p, arcname=p.name)
    tmp.replace(output)
    return output


def remove_orphans(base: Path, keep: Iterable[str]) -> list[Path]:
    """Remove pack folders under `base` that no pack row names (their mention was purged or
    erased). Rows are written before folders, so a folder being captured always has one."""
    if not base.is_dir():
        return []
    kept = {Path(p).name for p in keep if p}
    gone = []
    for p in base.iterdir():
        if p.is_dir() and p.name.startswith(PREFIX) and p.name not in kept:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


# --- the WARC ----------------------------------------------------------------------------------


def write_warc(
    path: Path,
    exchanges: Sequence[RawResponse],
    robots: RawResponse | None,
    robots_note: str,
    at: datetime,
) -> None:
    """Request and response records for every exchange, bodies exactly as received; then the
    robots.txt exchange (when it answered) and a metadata record with its verdict."""
    date = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("wb") as out:
        w = WARCWriter(out, gzip=True)
        w.write_record(
            w.create_warcinfo_record(
                path.name, {"software": "mention-monitor", "format": "WARC File Format 1.1"}
            )
        )
        for r in [*exchanges, *([robots] if robots is not None else [])]:
            _write_exchange(w, r, date)
        meta = w.create_warc_record(
            "metadata:robots.txt",
            "metadata",
            payload=io.BytesIO(robots_note.encode("utf-8")),
            warc_content_type="text/plain",
            warc_headers_dict={"WARC-Date": date},
        )
        w.write_record(meta)


def _write_exchange(w: WARCWriter, r: RawResponse, date: str) -> None:
    target = r.url
    path = target.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    req = w.create_warc_record(
        target,
        "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(
            f"GET {path} HTTP/1.1", list(r.request_headers), is_http_request=True
        ),
        warc_headers_dict={"WARC-Date": date},
    )
    status = f"{r.status} {r.reason}".strip()
    resp = w.create_warc_record(
        target,
        "response",
        payload=io.BytesIO(r.body),
        http_headers=StatusAndHeaders(status, list(r.headers), protocol=r.http_version),
        warc_headers_dict={"WARC-Date": date},
    )
    w.write_record(req)
    w.write_record(resp)
