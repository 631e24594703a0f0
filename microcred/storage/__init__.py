"""Object storage for evidence files: one interface, two backends.

    ObjectStore (Protocol)
    ├── LocalStore   a folder in the data directory (``microcred dev``, the embedded default);
    │                its signed URLs point at the API itself (``/api/v1/storage/<token>``)
    └── S3Store      any S3 API (AWS, MinIO, ...), through boto3's presigned requests

The client sends the bytes straight to the store with the signed requests it is given: one PUT,
or for a large file one per part (resumable: ``uploaded_parts`` says which arrived). Objects are
written once: a PUT onto an existing object is refused (``If-None-Match: *``), so nothing
verified is ever overwritten. The methods block (file and network I/O): call them from threads.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from microcred.config import Settings

# Read while verifying: enough for every magic number the type check looks at.
HEAD_BYTES = 64 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SignedRequest:
    """Where and how the client sends bytes (or fetches them): send ``headers`` as given."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class StoredObject:
    """What a stored object holds, read once: its size, its SHA-256, its first bytes."""

    size: int
    sha256: str
    head: bytes


class ObjectExists(Exception):
    """The key holds an object already: objects are never overwritten."""


class ObjectStore(Protocol):
    """Where evidence files live. Keys are the service's (never a member's filename)."""

    name: str

    def upload_request(self, key: str, *, size: int, content_type: str, expires_in: int) -> SignedRequest:
        """A signed PUT of the whole object, refused once the key holds one."""
        ...

    def start_multipart(self, key: str, *, content_type: str) -> str:
        """Begin an upload in parts; returns its upload id."""
        ...

    def part_request(
        self, key: str, *, upload_id: str, number: int, size: int, expires_in: int
    ) -> SignedRequest:
        """A signed PUT of part ``number`` (from 1) of ``size`` bytes."""
        ...

    def uploaded_parts(self, key: str, *, upload_id: str) -> list[StoredPart]:
        """The parts that arrived, by number (empty once the upload is finished or aborted)."""
        ...

    def finish_multipart(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None:
        """Join the parts into the object (ObjectExists when the key holds one)."""
        ...

    def abort_multipart(self, key: str, *, upload_id: str) -> None:
        """Drop an unfinished upload and its parts (nothing when it is gone already)."""
        ...

    def read(self, key: str) -> StoredObject | None:
        """Read the object once (None when there is none)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object (nothing when there is none)."""
        ...

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str:
        """A short-lived signed URL that serves the object as ``filename``."""
        ...


def digest(chunks: Iterable[bytes]) -> StoredObject:
    """Size, SHA-256 and first bytes of an object read as ``chunks``."""
    sha = hashlib.sha256()
    size = 0
    head = b""
    for chunk in chunks:
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        sha.update(chunk)
        size += len(chunk)
    return StoredObject(size=size, sha256=sha.hexdigest(), head=head)


def attachment_key(enrolment_id: str, attachment_id: str) -> str:
    """The one place an attachment's object key is decided."""
    return f"evidence/{enrolment_id}/{attachment_id}"


@functools.cache
def _extensions(content_type: str) -> tuple[str, ...]:
    """The file extensions of a media type, from the standard library's own table (not the
    host's: every host names files alike), else from the type's name (image/webp before 3.13)."""
    known = mimetypes.MimeTypes().guess_all_extensions(content_type)
    return tuple(known) or ("." + content_type.partition("/")[2].removeprefix("x-").partition("+")[0],)


def download_name(filename: str, content_type: str) -> str:
    """The name a file is saved under: the member's, less invisible format characters (with a
    right-to-left override, U+202E, ``x<U+202E>gnp.lmth`` shows as ``xhtml.png``), and ending in
    an extension of its verified type. The content was checked, not the name: a PNG named
    ``work.html`` would otherwise be saved as a page that runs its script when opened."""
    name = "".join(c for c in filename if unicodedata.category(c) != "Cf").strip() or "file"
    extensions = _extensions(content_type.lower())
    return name if name.lower().endswith(extensions) else name + extensions[0]


def content_disposition(filename: str, content_type: str) -> str:
    """``attachment`` with the download's name (``download_name``), ASCII-safe and in RFC 6266's
    UTF-8 form."""
    name = download_name(filename, content_type)
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def store_from_settings(settings: Settings) -> ObjectStore:
    """The S3 store when a bucket is configured, else the data-folder store."""
    if settings.s3_bucket:
        from microcred.storage.s3 import S3Store

        return S3Store.from_settings(settings)
    from microcred.storage.local import LocalStore

    return LocalStore(
        settings.data_dir / "evidence",
        secret=settings.storage_signing_secret,
        base_url=settings.api_base_url + "/storage",
    )
