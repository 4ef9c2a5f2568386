/**
 * Encryption of secrets at rest (S3 secret keys, backend credentials): AES-256-GCM with a random 96-bit IV per
 * value, under a 256-bit key kept in a file of the data dir (mode 0600, created on first use). An appliance that
 * takes over a database from another (a standby) needs this key file.
 *
 * @module
 */
import { AppError } from "./errors.ts";

const PREFIX = "v1:";
/** The key's file in the data dir. */
export const SECRET_KEY_FILE = "secret.key";

export interface SecretBox {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

async function loadOrCreateKey(keyFile: string, create: boolean): Promise<Uint8Array> {
  try {
    const key = Uint8Array.fromBase64((await Deno.readTextFile(keyFile)).trim());
    if (key.length !== 32) throw new AppError("Internal", `Secret key file ${keyFile} does not hold a 256-bit key`);
    return key;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || !create) throw err;
  }
  const key = crypto.getRandomValues(new Uint8Array(32));
  // createNew: two processes racing on a fresh data dir cannot end up with different keys.
  try {
    await Deno.writeTextFile(keyFile, key.toBase64() + "\n", { mode: 0o600, createNew: true });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return await loadOrCreateKey(keyFile, false);
    throw err;
  }
  return key;
}

/**
 * The appliance's one secret box, kept in its data dir: every service seals with the same key file. With `create`
 * false a missing key file is `Deno.errors.NotFound` rather than a new key.
 */
export function createDataDirSecretBox(dataDir: string, options: { create?: boolean } = {}): Promise<SecretBox> {
  return createSecretBox({ keyFile: `${dataDir}/${SECRET_KEY_FILE}`, ...options });
}

/** A box over the key in `keyFile` (created with mode 0600 when missing unless `create` is false), or over `key`. */
export async function createSecretBox(
  options: { keyFile: string; create?: boolean } | { key: Uint8Array },
): Promise<SecretBox> {
  const raw = "key" in options ? options.key : await loadOrCreateKey(options.keyFile, options.create ?? true);
  const key = await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  const encoder = new TextEncoder();
  return {
    async seal(plain) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(plain)));
      const out = new Uint8Array(iv.length + ct.length);
      out.set(iv);
      out.set(ct, iv.length);
      return PREFIX + out.toBase64();
    },
    async open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new AppError("Internal", "Cannot open secret: unknown format");
      const bytes = Uint8Array.fromBase64(sealed.slice(PREFIX.length));
      try {
        const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, key, bytes.slice(12));
        return new TextDecoder().decode(plain);
      } catch (err) {
        throw new AppError("Internal", "Cannot open secret: wrong key file or tampered value", { cause: err });
      }
    },
  };
}
