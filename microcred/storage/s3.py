"""The S3 store: evidence files in a bucket of any S3 API (AWS, MinIO, ...), through boto3.

Clients upload straight to the bucket with presigned requests: a PUT of the whole object
carrying ``If-None-Match: *`` (signed, so it cannot be left out: S3 then refuses to overwrite an
object), or an UploadPart per part of a multipart upload, which ListParts lists for a client
resuming after a dropped connection. The API completes the upload and reads the object once to
verify it. Two clients: one for the services' own calls (``MICROCRED_S3_ENDPOINT_URL``, an
address inside the deployment) and one that signs URLs for the address browsers reach
(``MICROCRED_S3_PUBLIC_ENDPOINT_URL``), since a signature covers the host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from microcred.config import Settings
from microcred.storage import (
    CHUNK,
    ObjectExists,
    SignedRequest,
    StoredObject,
    StoredPart,
    content_disposition,
    digest,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("microcred.storage")

# The bucket lifecycle rule that drops unfinished multipart uploads (and their parts) after a day,
# whether or not the sweep ran; single-PUT leftovers are the sweep's.
LIFECYCLE_RULE_ID = "microcred-abort-stale-uploads"
MISSING = {"NoSuchKey", "404", "NotFound"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    name = "s3"

    def __init__(self, client: S3Client, signer: S3Client, *, bucket: str) -> None:
        self._client = client
        self._signer = signer
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        assert settings.s3_bucket is not None
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        # Path-style addressing for a custom endpoint (MinIO and most S3 APIs serve it; no
        # wildcard DNS needed); signature V4, which presigned UploadPart requires.
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
            retries={"mode": "standard"},
        )

        def client(endpoint: str | None) -> S3Client:
            return boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id,
                aws_secret_access_key=secret,
                config=config,
            )

        public = settings.s3_public_endpoint_url or settings.s3_endpoint_url
        return cls(client(settings.s3_endpoint_url), client(public), bucket=settings.s3_bucket)

    # ---- setup -----------------------------------------------------------------------------

    def prepare(self, *, stale_after_days: int, cors_origins: list[str]) -> None:
        """The bucket's lifecycle rule for stale multipart uploads and, where the store takes
        one, a CORS rule letting the web app's origins PUT and read (idempotent; ``microcred setup``)."""
        try:
            rules = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        except ClientError as error:
            if _code(error) != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        ours: Any = {
            "ID": LIFECYCLE_RULE_ID,
            "Filter": {"Prefix": "evidence/"},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": max(1, stale_after_days)},
        }
        kept = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID]
        self._client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": [*kept, ours]}
        )
        if not cors_origins:
            return
        try:
            self._client.put_bucket_cors(
                Bucket=self.bucket,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedOrigins": cors_origins,
                            "AllowedMethods": ["PUT", "GET"],
                            "AllowedHeaders": ["Content-Type", "If-None-Match"],
                            "ExposeHeaders": ["ETag"],
                            "MaxAgeSeconds": 3600,
                        }
                    ]
                },
            )
        except ClientError as error:  # MinIO sets CORS server-wide (MINIO_API_CORS_ALLOW_ORIGIN)
            log.warning("the S3 store took no CORS rule (%s): allow the web app's origin there", _code(error))

    # ---- ObjectStore -----------------------------------------------------------------------

    def upload_request(self, key: str, *, size: int, content_type: str, expires_in: int) -> SignedRequest:
        url = self._signer.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size,
                "IfNoneMatch": "*",
            },
            ExpiresIn=expires_in,
        )
        return SignedRequest("PUT", url, {"Content-Type": content_type, "If-None-Match": "*"})

    def start_multipart(self, key: str, *, content_type: str) -> str:
        created = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return created["UploadId"]

    def part_request(
        self, key: str, *, upload_id: str, number: int, size: int, expires_in: int
    ) -> SignedRequest:
        url = self._signer.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ContentLength": size,
            },
            ExpiresIn=expires_in,
        )
        return SignedRequest("PUT", url, {})

    def uploaded_parts(self, key: str, *, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        try:
            pages = self._client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
            for page in pages:
                parts += [StoredPart(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", [])]
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                raise
            return []
        return sorted(parts, key=lambda p: p.number)

    def finish_multipart(self, key: str, *, upload_id: str, parts: list[StoredPart]) -> None:
        try:
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
                IfNoneMatch="*",
            )
        except ClientError as error:
            if _code(error) == "PreconditionFailed":
                raise ObjectExists(key) from error
            raise

    def abort_multipart(self, key: str, *, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                raise

    def read(self, key: str) -> StoredObject | None:
        try:
            got = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in MISSING:
                return None
            raise
        body = got["Body"]
        try:
            return digest(body.iter_chunks(CHUNK))
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=key)

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str:
        return self._signer.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(filename, content_type),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
        )
