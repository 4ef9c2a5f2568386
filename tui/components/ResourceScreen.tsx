/**
 * One screen over one kind of resource: a selectable list, a status line and single-key actions (some ask for
 * text first, some for a y/n confirmation). Each screen in `screens/` is this component plus its actions.
 *
 * @module
 */
import { Box, Text, useInput } from "ink";
import { useRef, useState } from "react";
import { useData } from "../hooks/use_data.ts";
import { List } from "./List.tsx";
import { Prompt } from "./Prompt.tsx";

export interface Action<T> {
  key: string;
  label: string;
  /** Ask for a line of text first. */
  prompt?: string;
  /** Ask y/n first (the question names the selected item). */
  confirm?: (item: T) => string;
  /** Needs a selected item. */
  needsItem?: boolean;
  /** Runs the action; the returned text is shown in the status line. */
  run(item: T | undefined, input: string): Promise<string>;
}

export interface ResourceScreenProps<T> {
  title: string;
  load(): Promise<T[]>;
  row(item: T): string;
  empty: string;
  actions: Action<T>[];
  /** Told when a prompt takes all keys (so app-wide keys such as q or digits do not fire while typing). */
  onCapture?(capturing: boolean): void;
}

type Mode<T> = { kind: "list" } | { kind: "prompt"; action: Action<T> } | { kind: "confirm"; action: Action<T> };

export function ResourceScreen<T>({ title, load, row, empty, actions, onCapture }: ResourceScreenProps<T>) {
  const data = useData(load);
  const [selected, setSelected] = useState(0);
  const [mode, setModeState] = useState<Mode<T>>({ kind: "list" });
  // Keys can arrive faster than React re-renders; the ref always holds the mode the next key must see.
  const modeRef = useRef<Mode<T>>(mode);
  const setMode = (next: Mode<T>) => {
    modeRef.current = next;
    setModeState(next);
    onCapture?.(next.kind === "prompt");
  };
  const [message, setMessage] = useState("");
  const items = data.value ?? [];
  const item = items[Math.min(selected, items.length - 1)];
  // Ink re-subscribes input handlers one tick after a frame is drawn; handlers read the latest item from here.
  const itemRef = useRef(item);
  itemRef.current = item;

  function execute(action: Action<T>, input: string) {
    setMode({ kind: "list" });
    setMessage(`${action.label}…`);
    action.run(itemRef.current, input).then(
      (text) => {
        setMessage(text);
        data.reload();
      },
      (err: Error) => setMessage(`Error: ${err.message}`),
    );
  }

  useInput((input) => {
    const current = modeRef.current;
    if (current.kind === "prompt") return;
    if (current.kind === "confirm") {
      if (input === "y") execute(current.action, "");
      else {
        setMode({ kind: "list" });
        setMessage("Cancelled");
      }
      return;
    }
    if (input === "r") return data.reload();
    const action = actions.find((a) => a.key === input);
    if (!action) return;
    if (action.needsItem && !itemRef.current) return setMessage("Nothing selected");
    if (action.prompt) setMode({ kind: "prompt", action });
    else if (action.confirm && itemRef.current) setMode({ kind: "confirm", action });
    else execute(action, "");
  }, { isActive: mode.kind !== "prompt" });

  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {data.error
        ? <Text color="red">Cannot load: {data.error}</Text>
        : data.loading && !data.value
        ? <Text dimColor>Loading…</Text>
        : (
          <List
            rows={items.map(row)}
            selected={selected}
            onSelect={setSelected}
            active={mode.kind === "list"}
            empty={empty}
          />
        )}
      <Box marginTop={1}>
        {mode.kind === "prompt"
          ? (
            <Prompt
              label={mode.action.prompt!}
              onSubmit={(v) => execute(mode.action, v)}
              onCancel={() => setMode({ kind: "list" })}
            />
          )
          : mode.kind === "confirm"
          ? <Text color="yellow">{mode.action.confirm!(item!)} (y/n)</Text>
          : <Text dimColor>{[...actions.map((a) => `${a.key} ${a.label}`), "r refresh"].join(" · ")}</Text>}
      </Box>
      {message ? <Text>{message}</Text> : null}
    </Box>
  );
}
