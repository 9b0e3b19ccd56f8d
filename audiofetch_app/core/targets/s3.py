"""An S3 bucket (AWS or any S3-compatible store) as a storage target, through s3fs.

Files download into a local staging folder and are uploaded whole by `commit`, so an object
in the bucket is always a complete file. The secret access key lives in the vault; the spec
kept in TinyDB only names it (`secret_ref`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import ipaddress
import re
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from audiofetch_app.core import address_guard
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

NAME = "s3"
LABEL = "S3"
EXAMPLE = "s3://bucket/folder"  # an address of this kind, for help texts
FIELDS = (("url", "S3 address (s3://bucket/folder)", False),
          ("endpoint_url", "Endpoint (empty for Amazon S3)", False),
          ("region", "Region (e.g. eu-central-1)", False),
          ("key_id", "Access key ID", False),
          ("secret", "Secret access key", True))
NEEDS_EXTRA = "Saving to S3 needs the s3 extra: pip install 'audiofetch[s3]'."
# Vault names of secret keys. Telegram sources were the first to use S3; the prefix stays so
# that secrets stored then are found again.
SECRET_PREFIX = "telegram_s3:"
CHECK_KEY = ".audiofetch-write-check"  # written and deleted by check() to prove write access
PART_SIZE = 16 * 2**20  # multipart chunk; files under twice this go up in one request
PART_CONCURRENCY = 4  # parts in flight per file: bounds memory to about 64 MiB per upload
DEFAULT_REGION = "us-east-1"  # an explicit region keeps botocore from asking EC2 metadata

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BAD_BUCKET = ("The bucket name “{}” is not valid: 3 to 63 lowercase letters, digits, dots "
               "and hyphens, starting and ending with a letter or digit.")


def _need_s3fs() -> None:
    # find_spec, not import: importing s3fs takes half a second and this may run on the loop.
    if importlib.util.find_spec("s3fs") is None:
        raise JobError(NEEDS_EXTRA)


def parse_s3_url(url: Any) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/some/prefix`; raises JobError when it is not one."""
    text = str(url or "").strip()
    if not text:
        raise JobError("Enter the S3 address as s3://bucket/folder.")
    parts = urlsplit(text)
    if parts.scheme.lower() != "s3" or not parts.netloc:
        raise JobError("The S3 address must look like s3://bucket/folder.")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise JobError("The S3 address may not contain ? or #.")
    bucket = parts.netloc
    if not _valid_bucket(bucket):
        raise JobError(_BAD_BUCKET.format(bucket))
    segments = [s for s in parts.path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise JobError("The folder inside the bucket may not contain “.” or “..”.")
    return bucket, "/".join(segments)


def _valid_bucket(name: str) -> bool:
    """S3's bucket naming rules (which S3-compatible stores follow too)."""
    if (not _BUCKET.match(name) or ".." in name or ".-" in name or "-." in name
            or name.startswith(("xn--", "sthree-")) or name.endswith("-s3alias")):
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def _check_endpoint(value: Any) -> str | None:
    text = str(value or "").strip().rstrip("/")
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise JobError("The S3 endpoint must be an http:// or https:// address.")
    if parts.username or parts.password:
        # The spec is stored in the clear: credentials belong in the key fields.
        raise JobError("Put the access key in its own fields, not in the endpoint address.")
    if parts.query or parts.fragment:
        raise JobError("The S3 endpoint may not contain ? or #.")
    try:
        parts.port  # noqa: B018 - a bad port only shows when it is read
    except ValueError as exc:
        raise JobError("The port in the S3 endpoint is not a number from 1 to 65535.") from exc
    return text


def _check_region(value: Any) -> str | None:
    text = str(value or "").strip()
    if text and not _REGION.match(text):
        raise JobError(f"“{text}” is not a region name (like eu-central-1).")
    return text or None


def secret_name(endpoint: str | None, bucket: str, key_id: str) -> str:
    """The vault name of the secret for this key on this bucket; the same on every edit."""
    digest = hashlib.sha256(f"{endpoint or ''}|{bucket}|{key_id}".encode()).hexdigest()
    return SECRET_PREFIX + digest[:16]


def check_spec(spec: dict[str, Any], default_folder: Path | None = None,
               secrets: Vault | None = None) -> dict[str, Any]:
    """A clean S3 spec; the secret key moves into the vault and only its name is kept."""
    _need_s3fs()
    bucket, prefix = parse_s3_url(spec.get("url"))
    endpoint = _check_endpoint(spec.get("endpoint_url"))
    region = _check_region(spec.get("region"))
    key_id = str(spec.get("key_id") or "").strip()
    if not key_id:
        raise JobError("Enter the access key ID for S3.")
    if secrets is None:
        raise JobError("The S3 secret access key cannot be kept without the app's vault.")
    secret = str(spec.get("secret") or "").strip()
    name = secret_name(endpoint, bucket, key_id)
    if secret:
        register_secret(secret)
        secrets.set(name, secret)
    elif not secrets.get(name):
        # An edit may leave the secret empty to keep the stored one; there is none yet.
        raise JobError("Enter the secret access key for S3.")
    url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return {"type": NAME, "url": url, "endpoint_url": endpoint, "region": region,
            "key_id": key_id, "secret_ref": name}


class S3Target:
    """A prefix in a bucket; `.part` files wait in a local staging folder until uploaded."""

    def __init__(self, *, bucket: str, prefix: str, staging: Path, key_id: str, secret: str,
                 endpoint_url: str | None = None, region: str | None = None) -> None:
        self.bucket, self.prefix, self.staging = bucket, prefix, Path(staging)
        self.endpoint_url, self.region = endpoint_url, region
        self._key_id, self._secret = key_id, secret
        self._fs: Any = None
        self._fs_lock = threading.Lock()

    @classmethod
    def open(cls, spec: dict[str, Any], *, staging: Path, secrets: Vault | None) -> S3Target:
        """The target a checked spec describes, with its secret read back from the vault."""
        _need_s3fs()
        bucket, prefix = parse_s3_url(spec.get("url"))
        ref = spec.get("secret_ref")
        secret = secrets.get(ref) if secrets is not None and ref else None
        if not secret:
            raise JobError("The S3 secret access key is missing; enter it again in the "
                           "source's settings.")
        register_secret(secret)
        return cls(bucket=bucket, prefix=prefix, staging=staging, key_id=spec.get("key_id", ""),
                   secret=secret, endpoint_url=spec.get("endpoint_url"),
                   region=spec.get("region"))

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:  # the default would show the secret
        return f"S3Target({self.label!r})"

    # ---------------------------------------------------------------- the file system

    def fs(self) -> Any:
        """The s3fs file system, made on first use (importing s3fs is slow: not on the loop)."""
        with self._fs_lock:
            if self._fs is None:
                try:
                    import s3fs
                except ImportError as exc:
                    raise JobError(NEEDS_EXTRA) from exc
                self._fs = s3fs.S3FileSystem(
                    key=self._key_id, secret=self._secret, endpoint_url=self.endpoint_url,
                    client_kwargs={"region_name": self.region or DEFAULT_REGION},
                    config_kwargs={"connect_timeout": 10, "read_timeout": 60,
                                   "retries": {"max_attempts": 3, "mode": "standard"}},
                    # Each target gets its own client: sizes are always asked afresh.
                    skip_instance_cache=True, use_listings_cache=False,
                    max_concurrency=PART_CONCURRENCY)
            return self._fs

    def _key(self, rel: str) -> str:
        parts = PurePosixPath(rel).parts
        if not parts or parts[0] == "/" or any(p in (".", "..") for p in parts):
            raise JobError("A file name would leave the target folder.")
        return "/".join((self.prefix, *parts)) if self.prefix else "/".join(parts)

    def check(self) -> None:
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JobError(f"Could not create the staging folder {self.staging}: "
                           f"{exc.strerror or exc}.") from exc
        fs = self.fs()
        probe = self._key(CHECK_KEY)
        try:
            fs.call_s3("put_object", Bucket=self.bucket, Key=probe, Body=b"ok")
        except Exception as exc:
            raise self._explain(exc, "write there") from None
        with contextlib.suppress(Exception):  # a key may write without deleting; that is fine
            fs.call_s3("delete_object", Bucket=self.bucket, Key=probe)

    def saved_size(self, rel: str) -> int | None:
        key = self._key(rel)
        try:
            head = self.fs().call_s3("head_object", Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._explain(exc, "read there") from None
        return int(head["ContentLength"])

    def partial(self, rel: str) -> Path:
        path = self.staging.joinpath(*PurePosixPath(self._key(rel)).parts)
        path = path.with_name(path.name + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, partial: Path, rel: str) -> str:
        key = self._key(rel)
        try:
            # s3fs sends small files in one request and big ones as a multipart upload; the
            # object appears only once the whole file is there.
            self.fs().put_file(str(partial), f"{self.bucket}/{key}", chunksize=PART_SIZE)
        except Exception as exc:
            raise self._explain(exc, "upload the file") from None
        partial.unlink(missing_ok=True)
        return f"s3://{self.bucket}/{key}"

    # ---------------------------------------------------------------- errors

    def _explain(self, exc: BaseException, doing: str) -> JobError:
        """One sentence for an s3fs/botocore failure; never the server's text or a secret."""
        from botocore import exceptions as bx

        where = self.endpoint_url or "Amazon S3"
        chain = [exc, exc.__cause__, exc.__context__]
        client = next((e for e in chain if isinstance(e, bx.ClientError)), None)
        if client is None:
            if any(isinstance(e, bx.NoCredentialsError | bx.PartialCredentialsError)
                   for e in chain):
                return JobError("S3 needs an access key ID and a secret access key.")
            if any(isinstance(e, bx.ConnectionError | bx.HTTPClientError | ConnectionError
                              | TimeoutError) for e in chain):
                return JobError(f"The S3 endpoint {where} cannot be reached; check the "
                                "address and the network connection.")
            if isinstance(exc, OSError) and exc.filename:  # the local .part, not the bucket
                return JobError(f"Could not read {exc.filename}: {exc.strerror or exc}.")
            if isinstance(exc, FileNotFoundError):
                return JobError(f"The bucket “{self.bucket}” does not exist at {where}.")
            if isinstance(exc, PermissionError):
                return JobError(f"S3 refused access to the bucket “{self.bucket}”; check the "
                                "access key and its permissions.")
            return JobError(f"Could not {doing} on S3 ({type(exc).__name__}).")
        error = client.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = client.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "InvalidAccessKeyId":
            return JobError(f"{where} does not know this access key ID; check the S3 key.")
        if code == "SignatureDoesNotMatch":
            return JobError("S3 refused the secret access key; check that it belongs to the "
                            "access key ID.")
        if code == "NoSuchBucket":
            return JobError(f"The bucket “{self.bucket}” does not exist at {where}.")
        if code == "RequestTimeTooSkewed":
            return JobError("S3 refused the request because this computer's clock is wrong; "
                            "correct the time and sync again.")
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "301"):
            return JobError(f"The bucket “{self.bucket}” is in another region; enter its "
                            "region in the source's settings.")
        if code in ("AccessDenied", "AllAccessDisabled", "AccountProblem", "403") or \
                status == 403:
            return JobError(f"S3 denied access to the bucket “{self.bucket}”: the key may not "
                            f"{doing}.")
        if code in ("SlowDown", "ServiceUnavailable", "503") or status == 503:
            return JobError("S3 is busy right now; sync again in a while.")
        return JobError(f"Could not {doing} on S3 ({code or status or 'no reason given'}).")


def claims(text: str) -> bool:
    """s3:// addresses."""
    return text.strip().lower().startswith("s3://")


def spec_from_text(text: str) -> dict[str, Any]:
    """The (unchecked) spec of an s3:// address; its keys are asked for separately."""
    return {"type": NAME, "url": text.strip()}


def open_target(spec: dict[str, Any], *, staging: Path, secrets: Vault | None) -> S3Target:
    """The target; for a LAN client's job the endpoint must be an address it may reach."""
    if spec.get("endpoint_url"):
        address_guard.check_url(spec["endpoint_url"])
    return S3Target.open(spec, staging=staging, secrets=secrets)


def label(spec: dict[str, Any]) -> str:
    return str(spec.get("url") or "")


def secret_refs(spec: dict[str, Any]) -> list[str]:
    return [spec["secret_ref"]] if spec.get("secret_ref") else []
