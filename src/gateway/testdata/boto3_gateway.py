"""The boto3 client the gateway's Python scripts use: path-style, SigV4, the gateway's region."""
import boto3
from botocore.config import Config


def gateway_client(endpoint, key_id, secret, **config):
    """An S3 client of the gateway at `endpoint`; `config` adds botocore settings (retries, timeouts, pool size)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", **config),
    )
