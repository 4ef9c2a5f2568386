/**
 * Loads data from the API and reloads it on demand; errors are kept for display, never thrown into Ink.
 *
 * @module
 */
import { useCallback, useEffect, useState } from "react";

export interface Data<T> {
  value: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

export function useData<T>(load: () => Promise<T>): Data<T> {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setError(undefined);
        setLoading(false);
      },
      (err: Error) => {
        if (!live) return;
        setError(err.message);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { value, error, loading, reload };
}
