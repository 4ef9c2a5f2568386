import assert from "node:assert/strict";
import { openCheckpoint, parseVerifierKey, signCheckpoint } from "./note.ts";
import { loadOrCreateSigner } from "./signer.ts";

const PY = "/usr/bin/python3";

async function python(script: string, stdin = ""): Promise<string> {
  const proc = new Deno.Command(PY, { args: ["-c", script], stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const writer = proc.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await proc.output();
  assert.equal(out.code, 0, `${PY} failed (needs python3-cryptography): ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

async function withSigner<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "integrity-note-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const checkpoint = { origin: "example.org/journal", size: 42, rootHash: new Uint8Array(32).fill(9), time: new Date(0) };

Deno.test("our checkpoint notes verify with an independent Ed25519 implementation (Python cryptography)", async () => {
  await withSigner(async (dir) => {
    const signer = await loadOrCreateSigner(dir, "example.org/journal");
    assert.equal((await Deno.stat(`${dir}/signing-key.json`)).mode! & 0o777, 0o600);
    const note = await signCheckpoint(checkpoint, signer);
    const out = await python(
      `
import sys, json, base64, hashlib
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
note, vkey = json.load(sys.stdin)
name, keyhash, key = vkey.split("+", 2)
raw = base64.b64decode(key)[1:]
assert hashlib.sha256(name.encode() + b"\\n" + b"\\x01" + raw).digest()[:4].hex() == keyhash
body, sigs = note.split("\\n\\n", 1)
body += "\\n"
line = sigs.strip("\\n")
assert line.startswith("\\u2014 " + name + " ")
blob = base64.b64decode(line.split(" ")[2])
assert blob[:4].hex() == keyhash
Ed25519PublicKey.from_public_bytes(raw).verify(blob[4:], body.encode())
print(body.split("\\n")[1])
`,
      JSON.stringify([note, signer.verifierKey]),
    );
    assert.equal(out, "42");
  });
});

Deno.test("a note signed by Python verifies here; altered or foreign notes do not", async () => {
  const out = await python(`
import base64, hashlib
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
k = Ed25519PrivateKey.generate()
raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
name = "py.example/log"
kh = hashlib.sha256(name.encode() + b"\\n\\x01" + raw).digest()[:4]
body = name + "\\n7\\n" + base64.b64encode(bytes(range(32))).decode() + "\\ntime 2026-01-02T03:04:05.000Z\\n"
sig = k.sign(body.encode())
other = "\\u2014 someone.else AAAAAA" + base64.b64encode(bytes(64)).decode()
print(name + "+" + kh.hex() + "+" + base64.b64encode(b"\\x01" + raw).decode())
print(base64.b64encode((body + "\\n" + other + "\\n\\u2014 " + name + " " + base64.b64encode(kh + sig).decode() + "\\n").encode()).decode())
`);
  const [vkey, b64] = out.split("\n");
  const note = new TextDecoder().decode(Uint8Array.fromBase64(b64!));
  const key = await parseVerifierKey(vkey!);
  const cp = await openCheckpoint(note, key);
  assert.equal(cp.size, 7);
  assert.equal(cp.origin, "py.example/log");
  assert.deepEqual([...cp.rootHash], Array.from({ length: 32 }, (_, i) => i));
  assert.equal(cp.time.toISOString(), "2026-01-02T03:04:05.000Z");

  await assert.rejects(openCheckpoint(note.replace("\n7\n", "\n8\n"), key), /signature .* invalid/);
  await assert.rejects(openCheckpoint(note.slice(0, note.indexOf("\n\n") + 1), key), SyntaxError);
  await withSigner(async (dir) => {
    const mine = await loadOrCreateSigner(dir, "py.example/log");
    await assert.rejects(openCheckpoint(note, mine.verifier), /missing or invalid/);
  });
  await assert.rejects(parseVerifierKey(vkey!.replace(/\+[0-9a-f]{8}\+/, "+00000000+")), /hash does not match/);
  await assert.rejects(parseVerifierKey("not a key"), SyntaxError);
  const lines = note.split("\n");
  await assert.rejects(openCheckpoint([...lines.slice(0, 2), "***", ...lines.slice(3)].join("\n"), key), SyntaxError);
});

Deno.test("a key that must have signed a checkpoint: refused when missing (none is made) or when it is another key", async () => {
  await withSigner(async (dir) => {
    const first = await loadOrCreateSigner(dir, "example.org/journal");
    const note = await signCheckpoint(checkpoint, first);
    assert.equal((await loadOrCreateSigner(dir, "example.org/journal", note)).verifierKey, first.verifierKey);

    const kept = await Deno.readTextFile(`${dir}/signing-key.json`);
    await Deno.remove(`${dir}/signing-key.json`);
    await assert.rejects(
      loadOrCreateSigner(dir, "example.org/journal", note),
      new RegExp(`checkpoints are signed with ${dir}/signing-key.json, which is missing; restore it`),
    );
    await assert.rejects(Deno.stat(`${dir}/signing-key.json`), Deno.errors.NotFound, "no new key was made");

    await loadOrCreateSigner(dir, "example.org/journal"); // another key, same name
    await assert.rejects(
      loadOrCreateSigner(dir, "example.org/journal", note),
      new RegExp(`${dir}/signing-key.json did not sign the integrity checkpoints`),
    );
    await Deno.writeTextFile(`${dir}/signing-key.json`, kept);
    assert.equal((await loadOrCreateSigner(dir, "example.org/journal", note)).verifierKey, first.verifierKey);
  });
});
