/**
 * A selectable list: ↑/↓ move the cursor; the parent handles the actions on the selected row.
 *
 * @module
 */
import { Box, Text, useInput } from "ink";

export interface ListProps {
  rows: string[];
  selected: number;
  onSelect(index: number): void;
  /** Ignore keys while a prompt has focus. */
  active: boolean;
  empty: string;
}

export function List({ rows, selected, onSelect, active, empty }: ListProps) {
  useInput((_input, key) => {
    if (key.upArrow) onSelect(Math.max(0, selected - 1));
    if (key.downArrow) onSelect(Math.min(rows.length - 1, selected + 1));
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
