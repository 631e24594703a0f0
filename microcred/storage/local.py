"""The data-folder store: evidence files under ``<data_dir>/evidence``, nothing to install.

Its signed URLs point at the API itself (``/api/v1/storage/<token>``, ``api/routes/storage.py``):
the token names one operation on one key (a PUT of the object or of one part, or a GET) and
expires; it is signed with HMAC-SHA256, so nobody can forge or widen it. Bytes stream to a
temporary file and are moved into place only once all of them arrived: a dropped connection
leaves nothing behind, and the object appears whole or not at all. As on S3, a PUT onto an
existing object is refused, and parts of an upload may be sent again until it is finished.

    objects/<key>                         finished objects
    uploads/<upload id>/<n>, <n>.etag     the parts of an upload in progress
    tmp/                                  bytes still arriving
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from microcred.storage import (
    CHUNK,
    ObjectExists,
    SignedRequest,
    StoredObject,
    StoredPart,
    digest,
)

# Bytes gathered before one write (and one hop to a thread) while an upload streams in.
WRITE_BUFFER = 1024 * 1024


class BadToken(Exception):
    """A token that is malformed, forged, expired, or for another operation."""


class NoSuchUpload(Exception):
    """The upload was finished or aborted (or never began)."""


class IncompleteBody(Exception):
    """Fewer or more bytes than the signed size."""


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one operation on one key."""

    op: str  # "put" (the whole object), "part", or "get"
    key: str
    size: int | None = None
    upload_id: str | None = None
    number: int | None = None
    filename: str | None = None
    content_type: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalStore:
    name = "local"

    def __init__(self, root: Path, *, secret: str | None, base_url: str) -> None:
        """``secret`` None: a store that cannot sign URLs (a worker only sweeps)."""
        self.root = root
        self._key = (
            hashlib.sha256(b"microcred evidence urls\0" + secret.encode()).digest() if secret else None
        )
        self.base_url = base_url.rstrip("/")

    def _folder(self, name: str) -> Path:
        """One of the store's folders, made on first use (building a store writes nothing)."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _mac(self, body: str) -> str:
        if self._key is None:
            raise ValueError(
                "set MICROCRED_STORAGE_SECRET: it signs the evidence files' URLs of the data-folder store"
            )
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    # ---- tokens ----------------------------------------------------------------------------

    def _sign(self, grant: Grant, expires_in: int) -> str:
        claims = {k: v for k, v in vars(grant).items() if v is not None}
        claims["exp"] = int(time.time()) + expires_in
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{self.base_url}/{body}.{self._mac(body)}"

    def grant(self, token: str, *, ops: tuple[str, ...]) -> Grant:
        """The grant of a valid, unexpired token for one of ``ops``; BadToken otherwise."""
        body, _, signature = token.partition(".")
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
        if not signature or not hmac.compare_digest(signature.encode(), self._mac(body).encode()):
            raise BadToken("bad signature")
        try:
            claims: dict[str, Any] = json.loads(_unb64(body))
        except ValueError as exc:
            raise BadToken("bad token") from exc
        if int(claims.pop("exp", 0)) < time.time():
            raise BadToken("expired")
        grant = Grant(**claims)
        if grant.op not in ops:
            raise BadToken("not for this operation")
        return grant

    # ---- paths -----------------------------------------------------------------------------

    def _object(self, key: str) -> Path:
        objects = self._folder("objects").resolve()
        path = (objects / key).resolve()
        if not path.is_relative_to(objects):
            raise ValueError(f"bad key {key!r}")
        return path

    def _upload(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise NoSuchUpload(upload_id)
        return self._folder("uploads") / upload_id

    def object_path(self, key: str) -> Path | None:
        """The finished object's file, for serving a download; None when there is none."""
        path = self._object(key)
        return path if path.is_file() else None

    # ---- ObjectStore -----------------------------------------------------------------------

    def upload_request(self, key: str, *, size: int, content_type: str, expires_in: int) -> SignedRequest:
        url = self._sign(Grant(op="put", key=key, size=size), expires_in)
        return SignedRequest("PUT", url, {"Content-Type": content_type})

    def start_multipart(self, key: str, *, content_type: str) -> str:
        upload_id = uuid.uuid4().hex
        folder = self._upload(upload_id)
        folder.mkdir()
        (folder / "key").write_text(key)
        return upload_id

    def part_request(
        self, key: str, *, upload_id: str, number: int, size: int, expires_in: int
    ) -> SignedRequest:
        grant = Grant(op="part", key=key, size=size, upload_id=upload_id, number=number)
        return SignedRequest("PUT", self._sign(grant, expires_in), {})

    def uploaded_parts(self, key: str, *, upload_id: str) -> list[StoredPart]:
        folder = self._upload(upload_id)
        if not folder.is_dir():
            return []
        parts = []
        for etag_file in folder.glob("*.etag"):
            part = folder / etag_file.stem
            with contextlib.suppress(FileNotFoundError):  # being replaced by a resent part
                parts.append(StoredPart(int(etag_file.stem), part.stat().st_size, etag_file.read_text()))
        return sorted(parts, key=lambda p: p.number)

    def finish_multipart(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None:
        folder = self._upload(upload_id)
        if not folder.is_dir():
            raise NoSuchUpload(upload_id)
        tmp = self._folder("tmp") / uuid.uuid4().hex
        try:
            with tmp.open("wb") as out:
                for part in parts:
                    with (folder / str(part.number)).open("rb") as source:
                        shutil.copyfileobj(source, out, CHUNK)
            self._publish(tmp, key)
        except FileNotFoundError as exc:
            # A concurrent completion joined the parts and removed their folder meanwhile.
            if self._object(key).is_file():
                raise ObjectExists(key) from exc
            raise NoSuchUpload(upload_id) from exc
        finally:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart(self, key: str, *, upload_id: str) -> None:
        shutil.rmtree(self._upload(upload_id), ignore_errors=True)

    def read(self, key: str) -> StoredObject | None:
        path = self._object(key)
        try:
            source = path.open("rb")
        except FileNotFoundError:
            return None
        with source:
            return digest(iter(lambda: source.read(CHUNK), b""))

    def delete(self, key: str) -> None:
        self._object(key).unlink(missing_ok=True)

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str:
        grant = Grant(op="get", key=key, filename=filename, content_type=content_type)
        return self._sign(grant, expires_in)

    # ---- receiving bytes (the API's storage route) -----------------------------------------

    async def receive(self, grant: Grant, body: AsyncIterator[bytes]) -> str:
        """Stream a granted PUT to disk; returns the ETag (MD5 of the bytes, as S3's).

        ObjectExists for a PUT onto an existing object, NoSuchUpload for a part of a finished
        upload, IncompleteBody when the bytes are not the signed size.
        """
        assert grant.size is not None
        if grant.op == "put" and self._object(grant.key).exists():
            raise ObjectExists(grant.key)
        if grant.op == "part" and not self._upload(grant.upload_id or "").is_dir():
            raise NoSuchUpload(grant.upload_id)
        tmp = self._folder("tmp") / uuid.uuid4().hex
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            out = await asyncio.to_thread(tmp.open, "wb")
            try:
                received = await _copy(body, out, md5, limit=grant.size)
            finally:
                await asyncio.to_thread(out.close)
            if received != grant.size:
                raise IncompleteBody(f"{received} bytes of {grant.size}")
            etag = f'"{md5.hexdigest()}"'
            await asyncio.to_thread(self._place, grant, tmp, etag)
            return etag
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)

    def _place(self, grant: Grant, tmp: Path, etag: str) -> None:
        if grant.op == "put":
            self._publish(tmp, grant.key)
            return
        folder = self._upload(grant.upload_id or "")
        try:
            tmp.replace(folder / str(grant.number))  # a part sent again replaces the first
            (folder / f"{grant.number}.etag").write_text(etag)
        except FileNotFoundError as exc:  # finished or aborted meanwhile
            raise NoSuchUpload(grant.upload_id) from exc

    def _publish(self, tmp: Path, key: str) -> None:
        """Move a whole file into place under ``key``: never over an existing object."""
        final = self._object(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp, final)  # atomic, and fails when the name is taken
        except FileExistsError as exc:
            raise ObjectExists(key) from exc


async def _copy(body: AsyncIterator[bytes], out: BinaryIO, md5: Any, *, limit: int) -> int:
    received = 0
    pending: list[bytes] = []
    buffered = 0

    def write(data: bytes) -> None:
        md5.update(data)
        out.write(data)

    async for chunk in body:
        received += len(chunk)
        if received > limit:
            raise IncompleteBody(f"more than the {limit} bytes signed for")
        pending.append(chunk)
        buffered += len(chunk)
        if buffered >= WRITE_BUFFER:
            await asyncio.to_thread(write, b"".join(pending))
            pending, buffered = [], 0
    if pending:
        await asyncio.to_thread(write, b"".join(pending))
    return received
