import assert from "node:assert/strict";
import { awsEnv, run, withAppliance } from "./_appliance.ts";

const SCRIPT = `
import hashlib, io, json, os, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
out = {}
s3.create_bucket(Bucket="boto-bucket")
s3.put_object(Bucket="boto-bucket", Key="small.txt", Body=b"hello boto", Metadata={"owner": "ops"},
              ContentType="text/plain")
obj = s3.get_object(Bucket="boto-bucket", Key="small.txt")
out["small"] = [obj["Body"].read().decode(), obj["Metadata"], obj["ContentType"]]
out["range"] = s3.get_object(Bucket="boto-bucket", Key="small.txt", Range="bytes=6-9")["Body"].read().decode()
# botocore refuses Metadata beyond ASCII; set as a header, such a value goes as UTF-8, signed as those bytes, and
# comes back as sent (read here as Latin-1)
def utf8_header(params, **kwargs):
    params["headers"]["x-amz-meta-city"] = "Zürich"
s3.meta.events.register("before-call.s3.PutObject", utf8_header)
s3.put_object(Bucket="boto-bucket", Key="utf8.txt", Body=b"x")
s3.meta.events.unregister("before-call.s3.PutObject", utf8_header)
city = s3.head_object(Bucket="boto-bucket", Key="utf8.txt")["Metadata"]["city"]
out["utf8_metadata"] = city.encode("latin-1").decode("utf-8")
s3.delete_object(Bucket="boto-bucket", Key="utf8.txt")

data = os.urandom(12 * 1024 * 1024 + 7)
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(data), "boto-bucket", "big.bin", Config=cfg)
buf = io.BytesIO()
s3.download_fileobj("boto-bucket", "big.bin", buf, Config=cfg)
out["big_equal"] = hashlib.sha256(buf.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()
out["big_etag"] = s3.head_object(Bucket="boto-bucket", Key="big.bin")["ETag"]

s3.copy_object(Bucket="boto-bucket", Key="copy.txt", CopySource={"Bucket": "boto-bucket", "Key": "small.txt"})
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "copy.txt"}, ExpiresIn=60)
import urllib.request
out["presigned"] = urllib.request.urlopen(url).read().decode()
res = s3.delete_objects(Bucket="boto-bucket", Delete={"Objects": [{"Key": k} for k in ["small.txt", "copy.txt", "big.bin"]]})
out["deleted"] = sorted(d["Key"] for d in res["Deleted"])
try:
    s3.get_object(Bucket="boto-bucket", Key="small.txt")
    out["missing"] = "found"
except ClientError as e:
    out["missing"] = e.response["Error"]["Code"]
s3.delete_bucket(Bucket="boto-bucket")

# Emptying a bucket version by version, as cleanup scripts and infrastructure tools do
s3.create_bucket(Bucket="boto-versions")
for k in ["v/1", "v/2", "v/3"]:
    s3.put_object(Bucket="boto-versions", Key=k, Body=k.encode())
out["versioning"] = s3.get_bucket_versioning(Bucket="boto-versions").get("Status", "unversioned")
pages = s3.get_paginator("list_object_versions").paginate(Bucket="boto-versions", PaginationConfig={"PageSize": 2})
out["versions"] = [[v["Key"], v["VersionId"], v["IsLatest"]] for p in pages for v in p.get("Versions", [])]
resource = boto3.resource("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
resource.Bucket("boto-versions").object_versions.delete()
out["after_versions_delete"] = s3.list_objects_v2(Bucket="boto-versions")["KeyCount"]
s3.delete_bucket(Bucket="boto-versions")

# A browser-based upload: a presigned POST form, sent as multipart/form-data by requests
import requests
post = s3.generate_presigned_post("boto-post", "in/\${filename}", Fields={"Content-Type": "text/plain"},
                                  Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, 1024]], ExpiresIn=300)
s3.create_bucket(Bucket="boto-post")
sent = requests.post(post["url"], data=post["fields"], files={"file": ("note.txt", b"posted by boto3")})
too_big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 2000)})
obj = s3.get_object(Bucket="boto-post", Key="in/note.txt")
out["post"] = [sent.status_code, obj["Body"].read().decode(), obj["ContentType"], too_big.status_code,
               "EntityTooLarge" in too_big.text, s3.list_objects_v2(Bucket="boto-post")["KeyCount"]]
s3.delete_object(Bucket="boto-post", Key="in/note.txt")
s3.delete_bucket(Bucket="boto-post")
out["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
print(json.dumps(out))
`;

Deno.test("boto3: put/get with metadata, ranges, managed multipart transfer, copy, presigned GET, batch delete, versions, presigned POST", async () => {
  await withAppliance(async (app, scratch) => {
    const { stdout } = await run("/usr/bin/python3", ["-c", SCRIPT], {
      env: { ...awsEnv(app, scratch), ENDPOINT: app.s3 },
    });
    const out = JSON.parse(stdout);
    assert.deepEqual(out.small, ["hello boto", { owner: "ops" }, "text/plain"]);
    assert.equal(out.range, "boto");
    assert.equal(out.utf8_metadata, "Zürich");
    assert.equal(out.big_equal, true);
    assert.match(out.big_etag, /-3"$/);
    assert.equal(out.presigned, "hello boto");
    assert.deepEqual(out.deleted, ["big.bin", "copy.txt", "small.txt"]);
    assert.equal(out.missing, "NoSuchKey");
    assert.deepEqual(out.buckets, [app.creds.bucket]);
    assert.equal(out.versioning, "unversioned");
    assert.deepEqual(out.versions, [["v/1", "null", true], ["v/2", "null", true], ["v/3", "null", true]]);
    assert.equal(out.after_versions_delete, 0);
    assert.deepEqual(out.post, [204, "posted by boto3", "text/plain", 400, true, 1]);
  });
});

// botocore announces `Expect: 100-continue` on every PutObject, an empty one too; such a request has no body to
// continue with, and is answered without `100 Continue`.
const EMPTY_THEN_FULL = `
import hashlib, io, json, logging, os
import boto3
from botocore.config import Config

warnings = io.StringIO()
logging.getLogger("urllib3").addHandler(logging.StreamHandler(warnings))
# One kept-alive connection; a stall would end in a read timeout, not in a retry on another connection.
cfg = Config(s3={"addressing_style": "path"}, max_pool_connections=1, read_timeout=10, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=cfg)
etags = []
for i in range(3):
    s3.put_object(Bucket=os.environ["BUCKET"], Key=f"empty/{i}", Body=b"")
    etags.append(s3.put_object(Bucket=os.environ["BUCKET"], Key=f"full/{i}", Body=b"after an empty one")["ETag"])
listed = s3.list_objects_v2(Bucket=os.environ["BUCKET"])["Contents"]
print(json.dumps({"etags": etags, "md5": hashlib.md5(b"after an empty one").hexdigest(),
                  "sizes": {o["Key"]: o["Size"] for o in listed}, "warnings": warnings.getvalue()}))
`;

Deno.test("boto3: a PutObject after an empty one on the same connection gets its answer (no misread response, no stall)", async () => {
  await withAppliance(async (app, scratch) => {
    const { stdout } = await run("/usr/bin/python3", ["-c", EMPTY_THEN_FULL], {
      env: { ...awsEnv(app, scratch), ENDPOINT: app.s3, BUCKET: app.creds.bucket },
    });
    const out = JSON.parse(stdout);
    assert.equal(out.warnings, "", "urllib3 parsed every response");
    assert.deepEqual(out.etags, Array(3).fill(`"${out.md5}"`));
    assert.deepEqual(out.sizes, {
      "empty/0": 0,
      "empty/1": 0,
      "empty/2": 0,
      "full/0": 18,
      "full/1": 18,
      "full/2": 18,
    });
  });
});
