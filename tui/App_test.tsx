import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { createTestApi } from "../src/api/_test_deps.ts";
import { createFsStore } from "../src/storage/fs.ts";
import { App } from "./App.tsx";

const ESC = "\u001b";
const DOWN = `${ESC}[B`;

async function until(frame: () => string | undefined, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const f = frame() ?? "";
    if (pattern.test(f)) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Frame never matched ${pattern}:\n${frame()}`);
}

async function type(stdin: { write(s: string): void }, text: string) {
  // The prompt subscribes to input in an effect, one tick after its first frame is drawn.
  await new Promise((r) => setTimeout(r, 50));
  for (const ch of text) {
    stdin.write(ch);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(config?: Record<string, unknown>) {
  const api = await createTestApi(config ? { config } : {});
  api.status.push({ name: "sync", ready: true });
  const ui = render(<App client={api.client} title="test" />);
  return {
    api,
    ui,
    close: async () => {
      ui.unmount();
      await api.close();
    },
  };
}

Deno.test("TUI shows health from the API and switches screens with digits and Tab", async () => {
  const { ui, close } = await setup();
  try {
    await until(ui.lastFrame, /Status: ok/);
    assert.match(ui.lastFrame()!, /✔ sync/);
    ui.stdin.write("4");
    await until(ui.lastFrame, /local\s+fs/);
    ui.stdin.write("\t");
    await until(ui.lastFrame, /Status: ok/);
  } finally {
    await close();
  }
});

Deno.test("TUI health screen shows each fs backend's free space and when writes are refused", async () => {
  const { api, ui, close } = await setup();
  const root = await Deno.makeTempDir({ prefix: "tui-capacity-" });
  try {
    await api.backends.set("roomy", await createFsStore({ root: `${root}/roomy`, minFreeBytes: 0 }));
    await api.backends.set(
      "tight",
      await createFsStore({ root: `${root}/tight`, minFreeBytes: Number.MAX_SAFE_INTEGER }),
    );
    ui.stdin.write("r");
    const frame = await until(ui.lastFrame, /Backend tight:.*writes refused/);
    assert.match(frame, /Backend roomy: [\d.]+ [KMGTP]iB free of [\d.]+ [KMGTP]iB \(0 B kept free\)/);
    assert.doesNotMatch(frame, /Backend roomy:.*refused/);
    assert.doesNotMatch(frame, /Backend local/, "a memory backend has no free space to tell");
  } finally {
    await close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TUI health screen shows the S3 gateway's and the API's TLS certificates: the fingerprint to pin, and the end", async () => {
  const fingerprint = (step: number) =>
    Array.from({ length: 32 }, (_, i) => (i * step % 256).toString(16).padStart(2, "0")).join(":").toUpperCase();
  const { ui, close } = await setup({
    s3Certificate: { fingerprintSha256: fingerprint(7), subject: "CN=appliance", notAfter: "2099-01-31T12:00:00.000Z" },
    apiCertificate: { fingerprintSha256: fingerprint(5), subject: "CN=admin", notAfter: "2000-01-31T12:00:00.000Z" },
  });
  try {
    const frame = await until(ui.lastFrame, /API TLS certificate/);
    assert.match(frame, /S3 TLS certificate CN=appliance, valid until 2099-01-31, SHA-256:\n/);
    assert.match(frame, new RegExp(`\n${fingerprint(7)}\n`));
    assert.match(frame, /API TLS certificate CN=admin, expired 2000-01-31, SHA-256:\n/);
    assert.match(frame, new RegExp(`\n${fingerprint(5)}\n`));
  } finally {
    await close();
  }
});

Deno.test("TUI buckets screen creates a bucket through the API and deletes it after confirmation", async () => {
  const { api, ui, close } = await setup();
  try {
    ui.stdin.write("2");
    await until(ui.lastFrame, /No buckets/);
    ui.stdin.write("n");
    await until(ui.lastFrame, /Bucket name:/);
    await type(ui.stdin, "media-q1");
    ui.stdin.write("\r");
    await until(ui.lastFrame, /Created media-q1/);
    assert.deepEqual((await api.client.buckets.list()).map((b) => b.name), ["media-q1"]);
    await until(ui.lastFrame, /› media-q1\s+local/);
    // What S3 clients set on the bucket shows on its row.
    await api.buckets.setConfig("media-q1", "tags", [{ key: "owner", value: "pve" }]);
    await api.buckets.setConfig("media-q1", "lifecycle", [{ enabled: true, prefix: "", abortIncompleteUploadDays: 2 }]);
    ui.stdin.write("r");
    await until(ui.lastFrame, /› media-q1\s+local\s+lifecycle 1 · owner=pve/);

    // What it holds, walked when asked: objects, and the parts of an upload not completed.
    await api.buckets.putObject("media-q1", "a.iso", new Blob([new Uint8Array(3 * 1024 * 1024)]).stream());
    const uploadId = await api.buckets.createMultipartUpload("media-q1", "b.iso");
    await api.buckets.uploadPart(
      "media-q1",
      "b.iso",
      { uploadId, partNumber: 1 },
      new Blob(["x".repeat(2048)]).stream(),
    );
    ui.stdin.write("u");
    await until(
      ui.lastFrame,
      /media-q1: 1 object, 3\.00 MiB; 1 unfinished multipart upload holds 2\.00 KiB \(walked in \d+ ms\)/,
    );
    await api.buckets.abortMultipartUpload("media-q1", "b.iso", uploadId);
    await api.buckets.deleteObject("media-q1", "a.iso");

    ui.stdin.write("d");
    await until(ui.lastFrame, /Delete bucket media-q1\? \(y\/n\)/);
    ui.stdin.write("n");
    await until(ui.lastFrame, /Cancelled/);
    ui.stdin.write("d");
    await until(ui.lastFrame, /\(y\/n\)/);
    ui.stdin.write("y");
    await until(ui.lastFrame, /Deleted media-q1/);
    assert.deepEqual(await api.client.buckets.list(), []);
  } finally {
    await close();
  }
});

Deno.test("TUI shows API errors in the status line, e.g. an invalid bucket name", async () => {
  const { ui, close } = await setup();
  try {
    ui.stdin.write("2");
    await until(ui.lastFrame, /No buckets/);
    ui.stdin.write("n");
    await until(ui.lastFrame, /Bucket name:/);
    await type(ui.stdin, "Bad_Name");
    ui.stdin.write("\r");
    await until(ui.lastFrame, /Error: Invalid bucket name "Bad_Name"/);
  } finally {
    await close();
  }
});

Deno.test("TUI access keys screen creates a key, shows its secret once, and selects rows with arrows", async () => {
  const { api, ui, close } = await setup();
  try {
    await api.client.accessKeys.create({ description: "first", admin: true });
    ui.stdin.write("3");
    await until(ui.lastFrame, /first\s+admin/);
    ui.stdin.write("n");
    await until(ui.lastFrame, /Description:/);
    await type(ui.stdin, "second");
    ui.stdin.write("\r");
    const frame = await until(ui.lastFrame, /secret \(shown only now\): \S{40}/);
    const keys = await api.client.accessKeys.list();
    assert.equal(keys.length, 2);
    assert.ok(frame.includes(keys[1]!.accessKeyId));
    await until(ui.lastFrame, /second\s+no access/);
    ui.stdin.write(DOWN);
    await until(ui.lastFrame, /› AK\S+\s+second/);
  } finally {
    await close();
  }
});
