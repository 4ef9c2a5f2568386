"""Drives the gateway with boto3 (Debian python3-boto3); prints one line per check, exits non-zero on failure."""
import hashlib
import io
import sys
import urllib.request

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from boto3_gateway import gateway_client

endpoint, key_id, secret = sys.argv[1:4]
s3 = gateway_client(endpoint, key_id, secret)

s3.create_bucket(Bucket="boto")
s3.put_object(Bucket="boto", Key="dir/x y.txt", Body=b"boto body", Metadata={"k": "v"}, ContentType="text/plain")
head = s3.head_object(Bucket="boto", Key="dir/x y.txt")
assert head["Metadata"] == {"k": "v"}, head
assert head["ContentType"] == "text/plain", head
assert s3.get_object(Bucket="boto", Key="dir/x y.txt")["Body"].read() == b"boto body"
print("put/get ok")

data = bytes(range(256)) * (13 * 4096)  # 13 MiB
s3.upload_fileobj(io.BytesIO(data), "boto", "multi.bin",
                  Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
assert s3.head_object(Bucket="boto", Key="multi.bin")["ETag"].endswith('-3"')
out = io.BytesIO()
s3.download_fileobj("boto", "multi.bin", out)
assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest()
print("multipart ok")

url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "dir/x y.txt"}, ExpiresIn=60)
assert urllib.request.urlopen(url).read() == b"boto body"
print("presigned ok")

pages = s3.get_paginator("list_objects_v2").paginate(Bucket="boto", PaginationConfig={"PageSize": 1})
assert [o["Key"] for p in pages for o in p.get("Contents", [])] == ["dir/x y.txt", "multi.bin"]
res = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": "dir/x y.txt"}, {"Key": "multi.bin"}]})
assert sorted(d["Key"] for d in res["Deleted"]) == ["dir/x y.txt", "multi.bin"], res
print("list/delete ok")

try:
    s3.get_object(Bucket="boto", Key="gone")
    raise SystemExit("expected NoSuchKey")
except ClientError as e:
    assert e.response["Error"]["Code"] == "NoSuchKey", e.response
print("errors ok")
