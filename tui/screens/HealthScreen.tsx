/**
 * Health of the appliance: overall status, database, each service, the free space of the backends that have it, and
 * the S3 gateway's TLS certificate (its fingerprint, for clients that pin it, and its end).
 *
 * @module
 */
import { Box, Text, useInput } from "ink";
import type { HealthView } from "../../src/api/client.ts";
import { type CertificateInfo, daysLeft, EXPIRY_WARNING_DAYS } from "../../src/tls.ts";
import { useData } from "../hooks/use_data.ts";
import { formatBytes } from "../format.ts";
import type { ScreenProps } from "./screen_props.ts";

export function HealthScreen({ client }: ScreenProps) {
  const health = useData(() => client.health());
  const config = useData(() => client.config());
  useInput((input) => {
    if (input === "r") {
      health.reload();
      config.reload();
    }
  });
  if (health.error) return <Text color="red">Cannot reach the appliance: {health.error}</Text>;
  const h = health.value;
  if (!h) return <Text dimColor>Loading…</Text>;
  const addresses = (config.value?.addresses ?? {}) as Record<string, string>;
  return (
    <Box flexDirection="column">
      <Text bold>
        Status: <Text color={h.status === "ok" ? "green" : "yellow"}>{h.status}</Text>
      </Text>
      <Text>Database: {h.database ? "ok" : "unreachable"}</Text>
      {h.services.map((s) => <Text key={s.name}>{s.ready ? "✔" : "…"} {s.name}</Text>)}
      {h.storage.map((s) => <StorageLine key={s.backend} {...s} />)}
      {(["s3", "api"] as const).map((listener) => {
        const certificate = config.value?.[`${listener}Certificate`] as CertificateInfo | undefined;
        return certificate ? <CertificateLine key={listener} listener={listener} {...certificate} /> : null;
      })}
      {Object.entries(addresses).map(([k, v]) => <Text key={k} dimColor>{k}: {v}</Text>)}
      <Box marginTop={1}>
        <Text dimColor>r refresh</Text>
      </Box>
    </Box>
  );
}

function StorageLine(s: HealthView["storage"][number]) {
  const refusing = s.availableBytes <= s.minFreeBytes;
  const low = s.availableBytes < s.totalBytes / 10;
  return (
    <Text>
      Backend {s.backend}:{" "}
      <Text color={refusing ? "red" : low ? "yellow" : undefined}>
        {formatBytes(s.availableBytes)} free of {formatBytes(s.totalBytes)}
      </Text>
      {refusing ? " (full: writes refused)" : ""} <Text dimColor>({formatBytes(s.minFreeBytes)} kept free)</Text>
    </Text>
  );
}

/** The fingerprint has a line of its own, so that it can be copied whole (e.g. for the PVE plugin's `fingerprint`). */
function CertificateLine(c: CertificateInfo & { listener: "s3" | "api" }) {
  const left = daysLeft(c.notAfter);
  return (
    <Box flexDirection="column">
      <Text>
        {c.listener === "s3" ? "S3" : "API"} TLS certificate {c.subject},{" "}
        <Text color={left < 0 ? "red" : left < EXPIRY_WARNING_DAYS ? "yellow" : undefined}>
          {left < 0 ? "expired" : "valid until"} {c.notAfter.slice(0, 10)}
        </Text>
        , SHA-256:
      </Text>
      <Text>{c.fingerprintSha256}</Text>
    </Box>
  );
}
