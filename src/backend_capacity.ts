/**
 * Size and free space of the backends that have them to tell (the fs backend's file system), for `/metrics` and the
 * health answer.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import { formatSeries, type Series } from "./prometheus.ts";
import type { BackendRegistry } from "./service.ts";
import type { StoreCapacity } from "./storage/mod.ts";

export interface BackendCapacity extends StoreCapacity {
  backend: string;
}

const SERIES: Series<StoreCapacity>[] = [
  ["s3plugin_backend_size_bytes", "gauge", "Size of the file system holding a backend's objects", (c) => c.totalBytes],
  ["s3plugin_backend_available_bytes", "gauge", "Free bytes of that file system", (c) => c.availableBytes],
  [
    "s3plugin_backend_min_free_bytes",
    "gauge",
    "Free bytes that writes of objects leave alone (refused with 507 below them)",
    (c) => c.minFreeBytes,
  ],
];

/** The capacity of every backend that reports one; a backend whose reading fails is logged and left out. */
export function backendCapacities(backends: BackendRegistry, logger: Logger): BackendCapacity[] {
  const out: BackendCapacity[] = [];
  for (const id of backends.ids()) {
    const store = backends.get(id);
    if (!store.capacity) continue;
    try {
      out.push({ backend: id, ...store.capacity() });
    } catch (err) {
      logger.warn("cannot read a backend's free space", { backend: id, error: String(err) });
    }
  }
  return out;
}

export function capacityMetrics(capacities: BackendCapacity[]): string {
  if (capacities.length === 0) return "";
  return formatSeries(SERIES, "backend", capacities.map((c) => ({ name: c.backend, value: c })));
}
