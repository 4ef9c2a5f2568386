/**
 * The ObjectStore contract, run on the `s3` backend pointed at this appliance's own gateway (served as a
 * subprocess, like in production): proves the gateway speaks the S3 the `s3` backend relies on.
 */
import { createS3Store } from "../../src/storage/s3.ts";
import { objectStoreContract } from "../../src/storage/_testing/object_store_contract.ts";
import { startAppliance } from "../e2e/_appliance.ts";

objectStoreContract("s3 backend → appliance gateway", async () => {
  const app = await startAppliance();
  const store = createS3Store({
    endpoint: app.s3,
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId: app.creds.accessKeyId,
    secretAccessKey: app.creds.secretAccessKey,
  });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await app.stop();
      await Deno.remove(app.dataDir, { recursive: true });
    },
  };
}, {
  bucketPrefix: "gw-",
  deviations: {
    lateChecksumsNeedLength:
      "a body of unknown length goes upstream through the SDK's Upload, whose checksums are fixed when it starts",
  },
});
