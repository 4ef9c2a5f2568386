/**
 * The live set of storage backends by id. The management API adds, replaces (a changed config) and removes backends
 * at run time; services only read it through the `BackendRegistry` view. What `get` returns follows the backend's
 * current store, so a service that keeps it (an open block device volume, the integrity anchor) goes on working when
 * the backend's config is replaced, instead of calling a store that was closed.
 *
 * @module
 */
import { AppError } from "./errors.ts";
import type { BackendRegistry } from "./service.ts";
import type { ObjectStore } from "./storage/mod.ts";

export interface MutableBackendRegistry extends BackendRegistry {
  has(id: string): boolean;
  /** Adds or replaces a backend; a replaced store is closed. */
  set(id: string, store: ObjectStore): Promise<void>;
  /**
   * Replaces a backend whose store must be closed before its successor opens (an fs store owns its root). When
   * `open` fails, `reopen` brings the old configuration back and the error is rethrown.
   */
  reopen(id: string, open: () => Promise<ObjectStore>, reopen: () => Promise<ObjectStore>): Promise<void>;
  /** Removes and closes a backend. */
  remove(id: string): Promise<void>;
  /** Closes every backend. */
  close(): Promise<void>;
}

export function createBackendRegistry(): MutableBackendRegistry {
  const stores = new Map<string, ObjectStore>();
  const handles = new Map<string, ObjectStore>();
  const current = (id: string): ObjectStore => {
    const store = stores.get(id);
    if (!store) throw new AppError("NotFound", `Backend "${id}" does not exist`, { details: { backend: id } });
    return store;
  };
  const handleOf = (id: string): ObjectStore =>
    new Proxy({} as ObjectStore, {
      get(_, name) {
        const store = current(id);
        const value = Reflect.get(store, name);
        return typeof value === "function" ? value.bind(store) : value;
      },
    });
  return {
    get(id) {
      current(id);
      let handle = handles.get(id);
      if (!handle) handles.set(id, handle = handleOf(id));
      return handle;
    },
    ids: () => [...stores.keys()].sort(),
    has: (id) => stores.has(id),
    async set(id, store) {
      const old = stores.get(id);
      stores.set(id, store);
      if (old && old !== store) await old.close();
    },
    async reopen(id, open, reopen) {
      await current(id).close();
      try {
        stores.set(id, await open());
      } catch (err) {
        stores.set(id, await reopen());
        throw err;
      }
    },
    async remove(id) {
      const old = stores.get(id);
      stores.delete(id);
      await old?.close();
    },
    async close() {
      const all = [...stores.values()];
      stores.clear();
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
