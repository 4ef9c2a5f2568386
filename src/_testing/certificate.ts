/**
 * Self-signed certificates made by openssl (a Debian package the suite installs), as an admin makes one, for the tests
 * and benchmarks of HTTPS.
 *
 * @module
 */

export interface CertificateFiles {
  certFile: string;
  /** The private key, mode 0600. */
  keyFile: string;
}

async function openssl(args: string[]): Promise<string> {
  const out = await new Deno.Command("/usr/bin/openssl", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/**
 * A P-256 server certificate for `CN=<name>` in `dir`, valid `days` (400), with `subjectAltName` when given;
 * `ca: true` leaves openssl's default `basicConstraints CA:TRUE` (a CA certificate) instead of `CA:FALSE`.
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  options: { days?: number; subjectAltName?: string; ca?: boolean } = {},
): Promise<CertificateFiles> {
  const certFile = `${dir}/${name}.crt`;
  const keyFile = `${dir}/${name}.key`;
  await openssl([
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", keyFile, "-out", certFile, "-days", String(options.days ?? 400), "-subj", `/CN=${name}`],
    ...(options.subjectAltName ? ["-addext", `subjectAltName=${options.subjectAltName}`] : []),
    ...(options.ca ? [] : ["-addext", "basicConstraints=critical,CA:FALSE"]),
  ]);
  await Deno.chmod(keyFile, 0o600);
  return { certFile, keyFile };
}

/** The certificate's SHA-256 fingerprint as openssl prints it (`AB:CD:…`). */
export async function opensslFingerprint(certFile: string): Promise<string> {
  const out = await openssl(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]);
  return out.trim().split("=")[1]!;
}
