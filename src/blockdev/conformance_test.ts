import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import { callRoute, plainSealer, serviceContext } from "./_testing/service_context.ts";
import { createBlockdevService } from "./mod.ts";

// libiscsi's conformance tests that write, read, trim and compare data, run against a chunked volume on the fs
// backend (64 KiB chunks, so most tests cross chunk boundaries). One test per process, as libiscsi requires.
// Unmap.Simple also passes but takes minutes here: it acknowledges ~500 journaled commands one fsync at a time.
const TESTS = [
  "ALL.Read10.Simple",
  "ALL.Read16.DpoFua",
  "ALL.Write10.Simple",
  "ALL.Write10.DpoFua",
  "ALL.Write10.Async",
  "ALL.Write16.Simple",
  "ALL.WriteVerify10.Simple",
  "ALL.Verify10.Mismatch",
  "ALL.CompareAndWrite.Simple",
  "ALL.Unmap.ZeroBlocks",
  "ALL.WriteSame10.Simple",
  "ALL.WriteSame10.Unmap",
  "ALL.WriteSame16.UnmapUntilEnd",
];
const IQN = "iqn.2026-01.lan.appliance:conformance";

Deno.test("libiscsi conformance tests pass against an S3-chunked volume", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "blockdev-conformance-" });
  const ctx = await serviceContext(dataDir, { local: await createFsStore({ root: `${dataDir}/objects` }) });
  const service = await createBlockdevService(ctx, { sealer: plainSealer });
  try {
    await callRoute(service, "POST", "/volumes", {
      name: "cu",
      sizeBytes: 64 * 2 ** 20,
      chunkSize: 65536,
      bucket: "vols",
    });
    await callRoute(service, "PUT", "/volumes/cu/mapping", { iqn: IQN, lun: 0 });
    const url = `iscsi://${service.addresses!.iscsi}/${IQN}/0`;
    for (const name of TESTS) {
      await t.step(name, async () => {
        const out = await new Deno.Command("iscsi-test-cu", { args: ["--dataloss", "-t", name, url], stdout: "piped" })
          .output();
        const text = new TextDecoder().decode(out.stdout);
        const tests = text.match(/^\s+tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m);
        assert.ok(tests, `no CUnit summary:\n${text}`);
        const [, total, ran, passed, failed] = tests.map(Number);
        assert.ok(total! > 0 && ran === total && passed === total && failed === 0, text);
        assert.doesNotMatch(text, /SKIPPED/, text);
      });
    }
  } finally {
    await service.stop();
    await ctx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
