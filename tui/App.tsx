/**
 * The terminal UI: four screens over the management API, switched with 1–4 or Tab; q quits.
 *
 * @module
 */
import { Box, Text, useApp, useInput } from "ink";
import { useState } from "react";
import type { ApiClient } from "../src/api/client.ts";
import { AccessKeysScreen } from "./screens/AccessKeysScreen.tsx";
import { BackendsScreen } from "./screens/BackendsScreen.tsx";
import { BucketsScreen } from "./screens/BucketsScreen.tsx";
import { HealthScreen } from "./screens/HealthScreen.tsx";

const SCREENS = [
  { name: "Health", Screen: HealthScreen },
  { name: "Buckets", Screen: BucketsScreen },
  { name: "Access keys", Screen: AccessKeysScreen },
  { name: "Backends", Screen: BackendsScreen },
] as const;

export function App({ client, title }: { client: ApiClient; title: string }) {
  const { exit } = useApp();
  const [current, setCurrent] = useState(0);
  const [capturing, setCapturing] = useState(false);
  // Screen keys are plain letters; switching uses digits and Tab so the two never collide.
  useInput((input, key) => {
    if (input === "q") exit();
    else if (key.tab) setCurrent((c) => (c + 1) % SCREENS.length);
    else if (/^[1-4]$/.test(input)) setCurrent(Number(input) - 1);
  }, { isActive: !capturing });
  const { Screen } = SCREENS[current]!;
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold color="blue">S3Plugin</Text>
        <Text dimColor>{` ${title}`}</Text>
      </Box>
      <Box marginBottom={1}>
        {SCREENS.map((s, i) => <Text key={s.name} inverse={i === current}>{` ${i + 1} ${s.name} `}</Text>)}
        <Text dimColor>Tab next · q quit</Text>
      </Box>
      <Screen key={current} client={client} onCapture={setCapturing} />
    </Box>
  );
}
