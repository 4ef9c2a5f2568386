// The AWS SDKs for Go, v1 (aws-sdk-go) and v2 (aws-sdk-go-v2), as Debian packages them: two more SigV4
// implementations and Go's HTTP client, behind many S3 tools (backup operators, Terraform providers, exporters).
// Each program (go_sdk/v1, go_sdk/v2) drives puts (an empty one, a checksummed one, one sent with Expect:
// 100-continue), its SDK's multipart uploader and parallel ranged downloader, a copy, a presigned GET, a paginated
// listing and a batch delete, and prints what it saw.
import assert from "node:assert/strict";
import { join } from "node:path";
import { awsEnv, run, withAppliance } from "./_appliance.ts";

const SOURCES = new URL("./go_sdk/", import.meta.url).pathname;

/** Builds the program in go_sdk/<name> into `dir` from Debian's Go sources (no module download). */
async function build(name: string, dir: string): Promise<string> {
  const binary = join(dir, name);
  await run("/usr/bin/go", ["build", "-o", binary, join(SOURCES, name, "main.go")], {
    env: { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(dir, "go-cache"), HOME: dir },
  });
  return binary;
}

Deno.test("AWS SDK for Go v1 and v2: puts, multipart uploader, ranged parallel downloader, copy, presigned GET, paginated listing, batch delete", async () => {
  await withAppliance(async (app, scratch) => {
    const [v1, v2] = await Promise.all([build("v1", scratch), build("v2", scratch)]);
    const env = { ...awsEnv(app, scratch), ENDPOINT: app.s3, BUCKET: app.creds.bucket };

    const one = JSON.parse((await run(v1, [], { env })).stdout);
    assert.deepEqual(one, {
      small: ["hello from go v1", "ops"],
      big: [13 * 1024 * 1024 + 3, true],
      presigned: "hello from go v1",
      keys: ["go/v1/big.bin", "go/v1/empty", "go/v1/expect.bin", "go/v1/small.txt"],
      missing: true,
    });

    const two = JSON.parse((await run(v2, [], { env })).stdout);
    assert.deepEqual(two, {
      small: ["hello from go v2", "ops", "text/plain", true],
      range: "from",
      big: [17 * 1024 * 1024 + 5, true],
      big_etag: two.big_etag,
      presigned: "hello from go v2",
      keys: ["go/v2/big.bin", "go/v2/copy.txt", "go/v2/empty", "go/v2/small.txt"],
      deleted: 4,
      missing: true,
    });
    assert.match(two.big_etag, /^"[0-9a-f]{32}-4"$/, "four 5 MiB parts");
  });
});
