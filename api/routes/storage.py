"""The data-folder store's signed URLs (``microcred.storage.local``): the API itself receives and
serves the evidence files when no S3 store is configured.

Not API operations a client calls by name (they are not in the OpenAPI document): clients use
the URLs the attachment routes hand out, exactly as they would use an S3 store's presigned URLs.
A token authorises one operation on one object and expires; no bearer token is involved.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from api.deps import EvidenceDep
from microcred.config import MAX_PART_BYTES
from microcred.storage import ObjectExists, content_disposition
from microcred.storage.local import BadToken, IncompleteBody, LocalStore, NoSuchUpload

router = APIRouter(prefix="/storage", include_in_schema=False)

# A download is a member's file served from the API's own origin. Content-Disposition makes a
# browser save it, but a file the type check lets through may still be active content (an SVG
# is an image and may hold a script): should anything ever render it, the sandbox gives it an
# origin of its own, with no script, no requests, no forms.
DOWNLOAD_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"code": code, "message": message}}, status_code=status)


def _local(evidence: EvidenceDep) -> LocalStore | None:
    store = evidence.store
    return store if isinstance(store, LocalStore) else None


# A part or a whole file of at most MICROCRED_EVIDENCE_PART_BYTES, which is at most this.
@router.put("/{token}", max_body_size=MAX_PART_BYTES)
async def put_object(token: str, request: Request, evidence: EvidenceDep) -> Response:
    store = _local(evidence)
    if store is None:
        return _refusal(404, "not_found", "no such store")
    try:
        grant = store.grant(token, ops=("put", "part"))
    except BadToken as exc:
        return _refusal(403, "forbidden", f"this upload URL is not valid: {exc}")
    try:
        etag = await store.receive(grant, request.stream())
    except ObjectExists:
        return _refusal(412, "precondition_failed", "the file is stored already: it is never overwritten")
    except NoSuchUpload:
        return _refusal(404, "no_such_upload", "this upload is finished or was abandoned")
    except IncompleteBody as exc:
        return _refusal(400, "incomplete_body", f"the body is not the signed size: {exc}")
    return Response(status_code=200, headers={"ETag": etag})


@router.get("/{token}")
async def get_object(token: str, evidence: EvidenceDep) -> Response:
    store = _local(evidence)
    if store is None:
        return _refusal(404, "not_found", "no such store")
    try:
        grant = store.grant(token, ops=("get",))
    except BadToken as exc:
        return _refusal(403, "forbidden", f"this download URL is not valid: {exc}")
    path = store.object_path(grant.key)
    if path is None:
        return _refusal(404, "not_found", "no such file")
    return FileResponse(
        path,
        media_type=grant.content_type,
        headers={
            "Content-Disposition": content_disposition(grant.filename or "file", grant.content_type or ""),
            "Content-Security-Policy": DOWNLOAD_POLICY,
        },
    )
