"""A moto S3 server on 127.0.0.1 that checks keys and signatures like S3 does.

Moto's in-process backends are global, so the server resets them on start; IAM checks are
switched on once an admin key exists, so unknown keys, wrong secrets and missing permissions
get S3's own errors (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import httpx
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
_ANY = {"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class FakeS3:
    """A running moto server; `key_id`/`secret` may do anything (they are the admin's)."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        httpx.post(f"{self.url}/moto-api/reset").raise_for_status()
        # Until reset-auth, moto accepts any request: make the admin while it still does.
        self.key_id, self.secret = self._user("admin", _ANY, client=self._iam("x", "x"))
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"0").raise_for_status()

    def _config(self) -> Config:
        return Config(region_name=REGION, retries={"max_attempts": 1},
                      s3={"addressing_style": "path"})

    def _iam(self, key_id: str, secret: str) -> Any:
        return boto3.client("iam", endpoint_url=self.url, aws_access_key_id=key_id,
                            aws_secret_access_key=secret, config=self._config())

    def client(self, key_id: str | None = None, secret: str | None = None) -> Any:
        """A boto3 S3 client on this server (the admin's keys unless others are given)."""
        return boto3.client("s3", endpoint_url=self.url,
                            aws_access_key_id=key_id or self.key_id,
                            aws_secret_access_key=secret or self.secret, config=self._config())

    def _user(self, name: str, policy: dict[str, Any], *, client: Any) -> tuple[str, str]:
        client.create_user(UserName=name)
        client.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                               PolicyDocument=json.dumps(policy))
        key = client.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def add_user(self, name: str, allow: dict[str, list[str]]) -> tuple[str, str]:
        """A user allowed only these actions on these resources; returns (key id, secret).

        `allow` maps a resource ("*", "arn:aws:s3:::bucket/key") to actions ("s3:GetObject").
        """
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}
                                for resource, actions in allow.items()]}
        return self._user(name, policy, client=self._iam(self.key_id, self.secret))

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str) -> dict[str, int]:
        """Key -> size of every object in `bucket`."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def multipart_uploads(self, bucket: str) -> list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        found = self.client().list_multipart_uploads(Bucket=bucket)
        return [u["Key"] for u in found.get("Uploads", [])]

    def stop(self) -> None:
        # The auth switch is process-wide: leave moto as other code expects to find it.
        with_auth_off = httpx.post(f"{self.url}/moto-api/reset-auth", content=b"inf")
        self._server.stop()
        with_auth_off.raise_for_status()
