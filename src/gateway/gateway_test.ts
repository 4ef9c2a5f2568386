import assert from "node:assert/strict";
import { createRequestIds } from "./gateway.ts";

Deno.test("createRequestIds() draws distinct ids of S3's shapes, across refills of its random pool", () => {
  const next = createRequestIds();
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const { requestId, hostId } = next();
    assert.match(requestId, /^[0-9A-F]{16}$/);
    assert.match(hostId, /^[A-Za-z0-9+/]{32}$/);
    assert.equal(atob(hostId).length, 24);
    seen.add(requestId);
    seen.add(hostId);
  }
  assert.equal(seen.size, 2000);
});
