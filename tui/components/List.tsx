/**
 * A selectable list: ↑/↓ move the cursor; the parent handles the actions on the selected row.
 *
 * @module
 */
import { Box, Text, useInput } from "ink";
import { useRef } from "react";

export interface ListProps {
  rows: string[];
  selected: number;
  onSelect(index: number): void;
  /** Ignore keys while a prompt has focus. */
  active: boolean;
  empty: string;
}

export function List({ rows, selected, onSelect, active, empty }: ListProps) {
  // The handler can run before Ink re-subscribes it after a render, so it reads the latest props from a ref.
  const latest = useRef({ count: rows.length, selected });
  latest.current = { count: rows.length, selected };
  useInput((_input, key) => {
    const { count, selected: at } = latest.current;
    if (key.upArrow) onSelect(Math.max(0, at - 1));
    if (key.downArrow) onSelect(Math.max(0, Math.min(count - 1, at + 1)));
  }, { isActive: active });
  if (rows.length === 0) return <Text dimColor>{empty}</Text>;
  return (
    <Box flexDirection="column">
      {rows.map((row, i) => (
        <Text key={i} inverse={i === selected}>
          {i === selected ? "› " : "  "}
          {row}
        </Text>
      ))}
    </Box>
  );
}
