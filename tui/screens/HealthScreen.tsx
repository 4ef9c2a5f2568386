/**
 * Health of the appliance: overall status, database, and each service.
 *
 * @module
 */
import { Box, Text, useInput } from "ink";
import { useData } from "../hooks/use_data.ts";
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
      {Object.entries(addresses).map(([k, v]) => <Text key={k} dimColor>{k}: {v}</Text>)}
      <Box marginTop={1}>
        <Text dimColor>r refresh</Text>
      </Box>
    </Box>
  );
}
