import { createFsStore } from "./fs.ts";
import { objectStoreContract } from "./_testing/object_store_contract.ts";

objectStoreContract("fs", async () => {
  const root = await Deno.makeTempDir({ prefix: "fs-store-contract-" });
  return { store: await createFsStore({ root }), cleanup: () => Deno.remove(root, { recursive: true }) };
});
