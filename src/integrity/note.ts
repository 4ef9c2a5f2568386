/**
 * Checkpoints as C2SP signed notes (tlog-checkpoint + signed-note, Ed25519). Pure: WebCrypto and the
 * hashing module only, so the stand-alone verifier can use it.
 *
 * Body: `<origin>\n<size>\n<base64 root>\n` followed by one extension line `time <ISO-8601 UTC>\n`.
 * Note: body, a blank line, then signature lines `— <name> <base64(keyhash[4] || signature[64])>\n`, where
 * keyhash = SHA-256(name || "\n" || 0x01 || public key)[0:4] and the signature is Ed25519 over the body bytes.
 * Verifier keys use the signed-note vkey format `<name>+<hex keyhash>+<base64(0x01 || public key)>`.
 *
 * @module
 */
import { equalBytes, type Hash, sha256 } from "./merkle.ts";

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Hash;
  time: Date;
}

export interface VerifierKey {
  name: string;
  keyHash: Uint8Array;
  publicKey: CryptoKey;
  raw: Uint8Array;
}

const enc = new TextEncoder();
const ED25519_ALG = 0x01;
const SIG_PREFIX = "\u2014 ";

export function keyHash(name: string, rawPublicKey: Uint8Array): Uint8Array {
  return sha256(enc.encode(name + "\n"), new Uint8Array([ED25519_ALG]), rawPublicKey).slice(0, 4);
}

export function formatVerifierKey(name: string, rawPublicKey: Uint8Array): string {
  const alg = new Uint8Array([ED25519_ALG, ...rawPublicKey]);
  return `${name}+${keyHash(name, rawPublicKey).toHex()}+${alg.toBase64()}`;
}

export async function parseVerifierKey(vkey: string): Promise<VerifierKey> {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) throw new SyntaxError(`Cannot parse verifier key "${vkey.slice(0, 40)}"`);
  const bytes = Uint8Array.fromBase64(m[3]!);
  if (bytes.length !== 33 || bytes[0] !== ED25519_ALG) throw new SyntaxError("Verifier key is not an Ed25519 key");
  const raw = bytes.slice(1);
  const hash = keyHash(m[1]!, raw);
  if (hash.toHex() !== m[2]) throw new SyntaxError("Verifier key hash does not match its name and key");
  const publicKey = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, true, ["verify"]);
  return { name: m[1]!, keyHash: hash, publicKey, raw };
}

export function checkpointBody(cp: Checkpoint): string {
  if (/[\n\s]/.test(cp.origin) || cp.origin === "") throw new TypeError("Checkpoint origin must be one word");
  return `${cp.origin}\n${cp.size}\n${cp.rootHash.toBase64()}\ntime ${cp.time.toISOString()}\n`;
}

/** Sign a checkpoint; `sign` produces an Ed25519 signature with the key named `name`. */
export async function signCheckpoint(
  cp: Checkpoint,
  signer: { name: string; rawPublicKey: Uint8Array; sign(data: Uint8Array): Promise<Uint8Array> },
): Promise<string> {
  const body = checkpointBody(cp);
  const sig = await signer.sign(enc.encode(body));
  const blob = new Uint8Array([...keyHash(signer.name, signer.rawPublicKey), ...sig]);
  return `${body}\n${SIG_PREFIX}${signer.name} ${blob.toBase64()}\n`;
}

/** Parse a checkpoint note and check its signature by `key`; throws SyntaxError or Error("…signature…"). */
export async function openCheckpoint(note: string, key: VerifierKey): Promise<Checkpoint> {
  const split = note.indexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new SyntaxError("Cannot parse note: no signature block");
  const body = note.slice(0, split + 1);
  const lines = body.slice(0, -1).split("\n");
  const [origin, sizeText, rootText, ...ext] = lines;
  if (origin === undefined || !/^\d+$/.test(sizeText ?? "") || rootText === undefined) {
    throw new SyntaxError("Cannot parse checkpoint body");
  }
  const rootHash = Uint8Array.fromBase64(rootText);
  const timeLine = ext.find((l) => l.startsWith("time "));
  const time = new Date(timeLine?.slice(5) ?? "");
  if (rootHash.length !== 32 || Number.isNaN(time.getTime())) {
    throw new SyntaxError("Cannot parse checkpoint root or time");
  }
  let verified = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    if (!line.startsWith(SIG_PREFIX)) throw new SyntaxError(`Cannot parse signature line "${line.slice(0, 40)}"`);
    const [name, b64] = line.slice(SIG_PREFIX.length).split(" ");
    if (name !== key.name || b64 === undefined) continue;
    const blob = Uint8Array.fromBase64(b64);
    if (!equalBytes(blob.slice(0, 4), key.keyHash)) continue;
    verified = await crypto.subtle.verify({ name: "Ed25519" }, key.publicKey, blob.slice(4), enc.encode(body));
    if (verified) break;
  }
  if (!verified) throw new Error(`Checkpoint signature by "${key.name}" is missing or invalid`);
  return { origin, size: Number(sizeText), rootHash, time };
}
