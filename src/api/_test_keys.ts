// TEMPORARY until secret_box.ts and db/repos/access_keys.ts land.
import type { SecretSealer } from "../db/repos/backends.ts";
import type { AccessKeyAdmin, AccessKeyInfo } from "./mod.ts";

export function testSealer(): Promise<SecretSealer> {
  return Promise.resolve({
    seal: (p) => Promise.resolve("sealed:" + btoa(p)),
    open: (s) => Promise.resolve(atob(s.slice(7))),
  });
}

export function testAccessKeys(_s: SecretSealer): Promise<AccessKeyAdmin> {
  const keys = new Map<string, AccessKeyInfo>();
  return Promise.resolve({
    create(input) {
      const info = { ...input, accessKeyId: "AK" + crypto.randomUUID().slice(0, 8), createdAt: new Date() };
      keys.set(info.accessKeyId, info);
      return Promise.resolve({ info, secretAccessKey: crypto.randomUUID() + crypto.randomUUID() });
    },
    list: () => Promise.resolve([...keys.values()]),
    get: (id) => Promise.resolve(keys.get(id)),
    delete: (id) => Promise.resolve(keys.delete(id)),
    setGrants(id, grants) {
      keys.get(id)!.grants = grants;
      return Promise.resolve();
    },
  });
}
