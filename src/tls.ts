/**
 * The certificate and key of an HTTPS listener, read from PEM files and checked before anything listens: a file that
 * cannot be read, is not PEM, or a key that does not belong to the certificate stops the start with a message naming
 * the file, rather than a TLS handshake that fails for every client later.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { AppError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { formatSeries } from "./prometheus.ts";

/** Days before a certificate's end from which each start warns (and the TUI shows its end in yellow). */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Days from `now` to `notAfter` (ISO text), fractional; negative once the certificate has ended. */
export function daysLeft(notAfter: string, now: Date = new Date()): number {
  return (Date.parse(notAfter) - now.getTime()) / DAY_MS;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What clients are told about the certificate (no secret). */
export interface CertificateInfo {
  /** SHA-256 of the DER certificate, as `AB:CD:…` (what `openssl x509 -fingerprint -sha256` and the PVE plugin's `fingerprint` show). */
  fingerprintSha256: string;
  subject: string;
  /** `DNS:…, IP Address:…` names, when the certificate has them. */
  subjectAltName?: string;
  notAfter: string;
}

export interface TlsCertificate {
  /** PEM of the certificate (and its chain, when the file holds one). */
  cert: string;
  /** PEM of the private key. */
  key: string;
  info: CertificateInfo;
}

function tlsError(message: string, cause?: unknown): AppError {
  return new AppError("InvalidArgument", message, cause === undefined ? {} : { cause });
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw tlsError(`Cannot read the ${what} ${path}: ${(err as Error).message}`, err);
  }
}

/**
 * Reads and checks the certificate and key of the listener `name`. Warns (does not refuse) when the key file can be
 * read by other users, when the certificate is a CA certificate, or when it has expired or ends within 30 days.
 */
export async function loadTlsCertificate(
  name: string,
  files: TlsFiles,
  logger: Logger,
  now: Date = new Date(),
): Promise<TlsCertificate> {
  const cert = await readPem(files.certFile, `${name} TLS certificate`);
  const key = await readPem(files.keyFile, `${name} TLS key`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw tlsError(`The ${name} TLS certificate ${files.certFile} is not a PEM certificate`, err);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw tlsError(`The ${name} TLS key ${files.keyFile} is not a PEM private key`, err);
  }
  if (!matches) {
    throw tlsError(
      `The ${name} TLS key ${files.keyFile} does not belong to the certificate ${files.certFile}`,
    );
  }
  const mode = (await Deno.stat(files.keyFile)).mode;
  if (mode !== null && (mode & 0o077) !== 0) {
    logger.warn(`${name}: the TLS key can be read by other users; chmod 600 it`, {
      keyFile: files.keyFile,
      mode: (mode & 0o777).toString(8),
    });
  }
  if (x509.ca) {
    // rustls (Deno's fetch, so this program's CLI and TUI, and Rust S3 clients) refuses such a server certificate.
    logger.warn(
      `${name}: the TLS certificate is a CA certificate (basicConstraints CA:TRUE); some clients refuse it as a ` +
        "server certificate (CaUsedAsEndEntity): make it with -addext basicConstraints=critical,CA:FALSE",
      { certFile: files.certFile },
    );
  }
  const notAfter = new Date(x509.validTo).toISOString();
  const days = Math.floor(daysLeft(notAfter, now));
  if (days < EXPIRY_WARNING_DAYS) {
    logger.warn(
      days < 0
        ? `${name}: the TLS certificate has expired; clients will refuse it`
        : `${name}: the TLS certificate expires in ${days} days`,
      { certFile: files.certFile, notAfter },
    );
  }
  const info: CertificateInfo = { fingerprintSha256: x509.fingerprint256, subject: x509.subject, notAfter };
  if (x509.subjectAltName) info.subjectAltName = x509.subjectAltName;
  return { cert, key, info };
}

/** `s3plugin_tls_certificate_not_after_seconds{listener}`: when each HTTPS listener's certificate ends (Unix time). */
export function certificateMetrics(listeners: { name: string; info: CertificateInfo }[]): string {
  if (listeners.length === 0) return "";
  return formatSeries(
    [[
      "s3plugin_tls_certificate_not_after_seconds",
      "gauge",
      "End of validity of the listener's TLS certificate (Unix time)",
      (info: CertificateInfo) => Date.parse(info.notAfter) / 1000,
    ]],
    "listener",
    listeners.map((l) => ({ name: l.name, value: l.info })),
  );
}
