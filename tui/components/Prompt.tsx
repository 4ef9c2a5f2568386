/**
 * A one-line text prompt: Enter submits, Esc cancels, Backspace deletes.
 *
 * @module
 */
import { Text, useInput } from "ink";
import { useRef, useState } from "react";

export interface PromptProps {
  label: string;
  onSubmit(value: string): void;
  onCancel(): void;
}

export function Prompt({ label, onSubmit, onCancel }: PromptProps) {
  // The ref holds the text typed so far even when Enter arrives before React re-renders (pasted input).
  const text = useRef("");
  const [value, setValue] = useState("");
  const update = (next: string) => {
    text.current = next;
    setValue(next);
  };
  useInput((input, key) => {
    if (key.return) onSubmit(text.current);
    else if (key.escape) onCancel();
    else if (key.backspace || key.delete) update(text.current.slice(0, -1));
    else if (!key.ctrl && !key.meta && input) update(text.current + input);
  });
  return (
    <Text>
      {label}: <Text color="cyan">{value}</Text>
      <Text color="cyan">▌</Text>
    </Text>
  );
}
