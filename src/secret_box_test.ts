import assert from "node:assert/strict";
import { createSecretBox } from "./secret_box.ts";

Deno.test("createSecretBox() seals with a fresh IV each time and opens its own values", async () => {
  const box = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
  const a = await box.seal("s3cr3t");
  const b = await box.seal("s3cr3t");
  assert.notEqual(a, b);
  assert.ok(!a.includes("s3cr3t"));
  assert.equal(await box.open(a), "s3cr3t");
  assert.equal(await box.open(b), "s3cr3t");
});

Deno.test("createSecretBox() refuses tampered values and values sealed under another key", async () => {
  const box = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
  const other = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
  const sealed = await box.seal("value");
  await assert.rejects(other.open(sealed), /wrong key file or tampered/);
  const flipped = sealed.slice(0, -3) + (sealed.at(-3) === "A" ? "B" : "A") + sealed.slice(-2);
  await assert.rejects(box.open(flipped), /wrong key file or tampered/);
  await assert.rejects(box.open("plain"), /unknown format/);
});

Deno.test("createSecretBox() creates the key file with mode 0600 and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keyFile = `${dir}/secret.key`;
    const first = await createSecretBox({ keyFile });
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    const second = await createSecretBox({ keyFile });
    assert.equal(await second.open(await first.seal("shared")), "shared");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
