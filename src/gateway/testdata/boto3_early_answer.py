"""A PUT refused before its body is sent, then more requests on the same kept-alive connection (boto3 announces
bodies over 1 MiB with `Expect: 100-continue` and does not send one that was refused). No retries and a short read
timeout: a connection left waiting for the refused body fails the next request. Prints one line per round."""
import sys

from botocore.exceptions import ClientError

from boto3_gateway import gateway_client

endpoint, key_id, secret, bucket = sys.argv[1:5]
s3 = gateway_client(endpoint, key_id, secret, retries={"total_max_attempts": 1}, read_timeout=5, max_pool_connections=1)
big = bytes(range(256)) * (12 * 1024)  # 3 MiB
for i in range(3):
    try:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=big)
        sys.exit("a PUT into a missing bucket succeeded")
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchBucket", err.response
    s3.put_object(Bucket=bucket, Key=f"after-{i}", Body=b"small")
    s3.put_object(Bucket=bucket, Key=f"big-{i}", Body=big)
    assert s3.get_object(Bucket=bucket, Key=f"big-{i}")["Body"].read() == big
    print(f"round {i} ok")
