/**
 * The checkpoint signing key: Ed25519, created at first start in `<data-dir>/integrity/signing-key.json`
 * (mode 0600, PKCS#8 in base64). The private key never leaves this module; the public key is published as a
 * signed-note verifier key.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { formatVerifierKey, openCheckpoint, parseVerifierKey, type VerifierKey } from "./note.ts";

export interface Signer {
  name: string;
  rawPublicKey: Uint8Array;
  /** `<name>+<keyhash>+<base64 key>` */
  verifierKey: string;
  verifier: VerifierKey;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

interface KeyFile {
  name: string;
  pkcs8: string;
}

/**
 * The key in `dir`, made when missing. With `signed` (the newest checkpoint note in the database) the key must be the
 * one that signed it: a database restored without its key, or beside another data dir's, would otherwise go on with
 * a new key under checkpoints that no longer verify.
 */
export async function loadOrCreateSigner(dir: string, name: string, signed?: string): Promise<Signer> {
  const path = `${dir}/signing-key.json`;
  const restore = "restore it from the backup of the data dir the database belongs to, then start again";
  let file: KeyFile;
  try {
    file = JSON.parse(await Deno.readTextFile(path)) as KeyFile;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new AppError("Internal", `Cannot read the integrity signing key ${path}`, { cause: err });
    }
    if (signed !== undefined) {
      throw new AppError(
        "InvalidArgument",
        `The integrity checkpoints are signed with ${path}, which is missing; ${restore}`,
      );
    }
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    file = { name, pkcs8: pkcs8.toBase64() };
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(path, JSON.stringify(file) + "\n", { mode: 0o600, createNew: true });
    await Deno.chmod(path, 0o600);
  }
  const der = Uint8Array.fromBase64(file.pkcs8);
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const rawPublicKey = Uint8Array.fromBase64(jwk.x ?? "", { alphabet: "base64url" });
  const verifierKey = formatVerifierKey(file.name, rawPublicKey);
  const verifier = await parseVerifierKey(verifierKey);
  if (signed !== undefined) {
    await openCheckpoint(signed, verifier).catch((err) => {
      throw new AppError("InvalidArgument", `${path} did not sign the integrity checkpoints; ${restore}`, {
        cause: err,
      });
    });
  }
  return {
    name: file.name,
    rawPublicKey,
    verifierKey,
    verifier,
    sign: async (data) =>
      new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, new Uint8Array(data))),
  };
}
