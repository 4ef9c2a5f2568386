// An error answered while the client is still sending its body must reach a client that sends its whole body first,
// as the AWS CLI does after `100 Continue`: refused before the body is read (the gateway lets go of the body for the
// server to discard, instead of holding it unread while the client waits), or part-way (the disk fills).
import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import { withTmpfs } from "../storage/_testing/tmpfs.ts";
import { tempLeftovers } from "../storage/_testing/contract_helpers.ts";
import { ADMIN, createHarness, type Harness } from "./_testing/harness.ts";
import { openSignedRequest, serveHarness } from "./_testing/server.ts";
import { runClientTool } from "./_testing/client_tool.ts";
import { withTempDir } from "../_testing/temp_dir.ts";

const BODY_BYTES = 16 * 1024 * 1024;

/**
 * PUTs `BODY_BYTES` to `path` on a raw connection, the body sent whole after `100 Continue` (`midway` runs after the
 * first half); the answer's head.
 */
async function putWholeThenRead(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; midway?: () => Promise<void> } = {},
): Promise<string> {
  const conn = await openSignedRequest(port, {
    method: "PUT",
    path,
    headers: { "content-length": String(BODY_BYTES), expect: "100-continue", ...options.headers },
  });
  try {
    const piece = new Uint8Array(64 * 1024).fill(7);
    let halfway = options.midway;
    for (let sent = 0; sent < BODY_BYTES;) {
      if (sent >= BODY_BYTES / 2 && halfway) {
        await halfway();
        halfway = undefined;
      }
      sent += await conn.write(piece.subarray(0, Math.min(piece.byteLength, BODY_BYTES - sent)));
    }
    let text = "";
    const buf = new Uint8Array(64 * 1024);
    while (!/\r\n\r\nHTTP\/1\.1 [2-5]\d\d[^]*\r\n\r\n/.test(text) && !/^HTTP\/1\.1 [2-5]/.test(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, "");
  } finally {
    conn.close();
  }
}

async function withServer(
  root: string,
  minFreeBytes: number,
  fn: (port: number, h: Harness) => Promise<void>,
): Promise<void> {
  const store = await createFsStore({ root, minFreeBytes });
  const h = createHarness({ store });
  const server = await serveHarness(h);
  try {
    assert.equal((await h.request({ method: "PUT", path: "/early" })).status, 200);
    await fn(server.port, h);
  } finally {
    await server.close();
    await store.close();
  }
}

const withTempRoot = (fn: (root: string) => Promise<void>) => withTempDir("gateway-early-answer-", fn);

/** Writes zeros to `path` until the file system is full. */
async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  try {
    for (const zeros = new Uint8Array(256 * 1024);;) await file.write(zeros);
  } catch (err) {
    assert.equal((err as { code?: string }).code, "ENOSPC", String(err));
  } finally {
    file.close();
  }
}

/** `answer` with a deadline: a held body makes the client wait for an answer that never comes. */
function within<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

Deno.test("a write refused before its body is read answers a client that sends its whole body first: NoSuchBucket", async () => {
  await withTempRoot((root) =>
    withServer(root, 0, async (port) => {
      const head = await within(10_000, putWholeThenRead(port, "/nowhere/big.bin"));
      assert.match(head, /^HTTP\/1\.1 404 /);
      assert.match(head, /<Code>NoSuchBucket<\/Code>/);
    })
  );
});

Deno.test("a write refused before its body is read answers a client that sends its whole body first: a full disk", async () => {
  await withTempRoot((root) =>
    withServer(root, Number.MAX_SAFE_INTEGER, async (port) => {
      const head = await within(10_000, putWholeThenRead(port, "/early/big.bin"));
      assert.match(head, /^HTTP\/1\.1 507 /);
      assert.match(head, /<Code>InsufficientStorage<\/Code>/);
    })
  );
});

Deno.test("a write refused before its body is read answers a client that sends its whole body first: a failed If-None-Match", async () => {
  await withTempRoot((root) =>
    withServer(root, 0, async (port, h) => {
      assert.equal((await h.request({ method: "PUT", path: "/early/taken", body: "first" })).status, 200);
      const head = await within(
        10_000,
        putWholeThenRead(port, "/early/taken", { headers: { "if-none-match": "*" } }),
      );
      assert.match(head, /^HTTP\/1\.1 412 /);
      assert.match(head, /<Code>PreconditionFailed<\/Code>/);
    })
  );
});

Deno.test("a disk that fills mid-upload answers 507 to a client still sending its body, and keeps nothing", async () => {
  await withTmpfs("24m", (root) =>
    withServer(root, 0, async (port, h) => {
      // Something else fills the disk while the body is on its way.
      const head = await within(
        10_000,
        putWholeThenRead(port, "/early/big.bin", { midway: () => fill(`${root}/filler`) }),
      );
      assert.match(head, /^HTTP\/1\.1 507 /);
      assert.match(head, /<Code>InsufficientStorage<\/Code>/);
      assert.equal((await h.request({ method: "HEAD", path: "/early/big.bin" })).status, 404);
      assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
    }));
});

Deno.test("a PUT refused before its body is sent does not stall the next request on its connection (boto3, which sends no refused body)", async () => {
  await withTempRoot((root) =>
    withServer(root, 0, async (port) => {
      const script = new URL("./testdata/boto3_early_answer.py", import.meta.url).pathname;
      const out = await runClientTool("/usr/bin/python3", [
        script,
        `http://127.0.0.1:${port}`,
        ADMIN.accessKeyId,
        ADMIN.secretAccessKey,
        "early",
      ]);
      const text = out.stdout + out.stderr;
      assert.equal(out.code, 0, text);
      assert.equal(text.trim().split("\n").length, 3, text);
    })
  );
});
