// The AWS Common Runtime's S3 client (aws-c-s3 through Debian's python3-awscrt): the high-throughput client of the
// AWS CLI v2 and Mountpoint for Amazon S3, with its own SigV4 (aws-c-auth) and HTTP client (aws-c-http). It splits a
// PUT into parallel multipart parts and a GET into parallel ranged parts. The Debian version takes no endpoint port:
// it connects to port 80 of the Host it is given, so the gateway listens on port 80 of a loopback address of its own.
import assert from "node:assert/strict";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { join } from "node:path";
import { run, type RunningAppliance, sdkClient, sha256File, startAppliance, writeTestFile } from "./_appliance.ts";

const SCRIPT = `
import json, os, sys
from awscrt.auth import AwsCredentialsProvider
from awscrt.http import HttpHeaders, HttpRequest
from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType

host, bucket = os.environ["HOST"], os.environ["BUCKET"]
loops = EventLoopGroup(2)
client = S3Client(bootstrap=ClientBootstrap(loops, DefaultHostResolver(loops)), region="us-east-1",
                  tls_mode=S3RequestTlsMode.DISABLED, part_size=5 * 1024 * 1024,
                  credential_provider=AwsCredentialsProvider.new_static(os.environ["AWS_ACCESS_KEY_ID"],
                                                                        os.environ["AWS_SECRET_ACCESS_KEY"]))

def request(kind, method, key, headers, **files):
    seen = {}
    def on_headers(status_code, headers, **_):
        seen["status"] = status_code
    def on_done(error=None, error_body=None, **_):
        seen["error"] = None if error is None else f"{error} {error_body!r}"
    made = client.make_request(request=HttpRequest(method, f"/{bucket}/{key}", HttpHeaders([("Host", host), *headers])),
                               type=kind, on_headers=on_headers, on_done=on_done, **files)
    try:
        made.finished_future.result(120)
    except Exception:
        pass  # on_done has the error
    return seen

out = {}
for key, path in (("crt/big.bin", sys.argv[1]), ("crt/small.txt", sys.argv[2])):
    size = str(os.path.getsize(path))
    out["put " + key] = request(S3RequestType.PUT_OBJECT, "PUT", key, [("Content-Length", size)], send_filepath=path)
    out["get " + key] = request(S3RequestType.GET_OBJECT, "GET", key, [], recv_filepath=path + ".back")
missing = request(S3RequestType.GET_OBJECT, "GET", "crt/none", [], recv_filepath=sys.argv[2] + ".none")
out["missing"] = [missing["status"], "<Code>NoSuchKey</Code>" in missing["error"]]
print(json.dumps(out))
`;

/** An appliance whose gateway listens on port 80 of a loopback address no other test uses. */
async function onPort80(): Promise<RunningAppliance> {
  for (let attempt = 0;; attempt++) {
    const address = `127.0.${1 + Math.floor(Math.random() * 254)}.${2 + Math.floor(Math.random() * 253)}`;
    try {
      return await startAppliance({ s3Listen: `${address}:80` });
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
}

Deno.test("AWS CRT S3 client: a parallel multipart PUT and a parallel ranged GET of 23 MiB, a small PUT and GET, a missing key", async () => {
  const app = await onPort80();
  const scratch = await Deno.makeTempDir({ prefix: "s3plugin-e2e-crt-" });
  try {
    const big = join(scratch, "big.bin");
    const small = join(scratch, "small.txt");
    await writeTestFile(big, 23 * 1024 * 1024 + 11);
    await Deno.writeTextFile(small, "through the AWS Common Runtime");
    const { stdout } = await run("/usr/bin/python3", ["-c", SCRIPT, big, small], {
      env: {
        HOST: new URL(app.s3).hostname,
        BUCKET: app.creds.bucket,
        AWS_ACCESS_KEY_ID: app.creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: app.creds.secretAccessKey,
      },
    });
    const ok = { status: 200, error: null };
    assert.deepEqual(JSON.parse(stdout), {
      "put crt/big.bin": ok,
      "get crt/big.bin": ok,
      "put crt/small.txt": ok,
      "get crt/small.txt": ok,
      missing: [404, true],
    });
    assert.equal(await sha256File(`${big}.back`), await sha256File(big));
    assert.equal(await Deno.readTextFile(`${small}.back`), "through the AWS Common Runtime");
    const head = await sdkClient(app).send(new HeadObjectCommand({ Bucket: app.creds.bucket, Key: "crt/big.bin" }));
    assert.match(head.ETag ?? "", /-5"$/, "the CRT sent it as five parts of 5 MiB");
    const metrics = await (await fetch(`${app.api}/metrics`)).text();
    const ranged = Number(/s3_requests_total\{op="GetObject",status="206"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(ranged >= 5, `the CRT read it back in ranged parts (${ranged} partial GETs)`);
  } finally {
    await app.stop();
    await Deno.remove(scratch, { recursive: true });
    await Deno.remove(app.dataDir, { recursive: true });
  }
});
