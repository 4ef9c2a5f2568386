/**
 * Prometheus text exposition: label values escaped, and gauges or counters with one series per labelled item.
 *
 * @module
 */

/** A label value escaped for the text format (backslash, double quote, line feed). */
export function promLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

export type Series<T> = [name: string, type: "gauge" | "counter", help: string, value: (item: T) => number];

/** Every series in `series`, one sample per item, labelled `label="<item name>"`. */
export function formatSeries<T>(series: Series<T>[], label: string, items: { name: string; value: T }[]): string {
  const lines: string[] = [];
  for (const [name, type, help, value] of series) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const item of items) lines.push(`${name}{${label}="${promLabel(item.name)}"} ${value(item.value)}`);
  }
  return lines.join("\n") + "\n";
}
