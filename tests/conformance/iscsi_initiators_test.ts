/**
 * Real initiators against this target: libiscsi's iscsi-ls/iscsi-inq (discovery, INQUIRY, CHAP and mutual CHAP,
 * header digests) and QEMU's iscsi block driver (qemu-img convert round trip, qemu-io patterns, two sessions).
 */
import assert from "node:assert/strict";
import { OUR_IQN, requireTool, run, startOurTarget } from "./_iscsi_harness.ts";

const SIZE = 32 * 1024 * 1024;
const CHAP = {
  user: "pve-node1",
  secret: "initiator-secret-1",
  mutualUser: "s3plugin",
  mutualSecret: "target-secret-22",
};

async function withTarget(
  options: { chap?: typeof CHAP; nopIntervalMs?: number },
  fn: (t: Awaited<ReturnType<typeof startOurTarget>>, dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "iscsi-initiators-" });
  const t = await startOurTarget(dir, { sizeBytes: SIZE, ...options });
  try {
    await fn(t, dir);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("iscsi-ls discovers the target and its LUN; iscsi-inq reads INQUIRY (with CRC32C header digests)", async () => {
  const ls = await requireTool("iscsi-ls");
  const inq = await requireTool("iscsi-inq");
  await withTarget({}, async (t) => {
    const r = await run(ls, ["-s", `iscsi://${t.address}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Target:${OUR_IQN} Portal:${t.address},1`));
    // iscsi-ls prints the last LBA's offset in MiB (as it does for tgtd): 32 MiB shows as 31M.
    assert.match(r.stdout, /Lun:0\s+Type:DIRECT_ACCESS \(Size:31M\)/);
    const i = await run(inq, [`${t.url}/0?header_digest=crc32c`]);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout, /Vendor:S3PLUGIN/);
    const vpd = await run(inq, ["-e", "1", "-c", "131", `${t.url}/0`]);
    assert.match(vpd.stdout, /Designator Type:\(3\) NAA/);
    assert.equal(t.target.sessions().length, 0, "sessions end with logout");
  });
});

Deno.test("qemu-img converts a random image into a LUN and back byte-identical", async () => {
  const qemuImg = await requireTool("qemu-img");
  await withTarget({}, async (t, dir) => {
    const image = new Uint8Array(8 * 1024 * 1024);
    for (let at = 0; at < image.length; at += 65536) crypto.getRandomValues(image.subarray(at, at + 65536));
    await Deno.writeFile(`${dir}/in.raw`, image);
    const url = `${t.url}/0`;
    const put = await run(qemuImg, ["convert", "-n", "-f", "raw", "-O", "raw", `${dir}/in.raw`, url]);
    assert.equal(put.code, 0, put.stderr);
    const get = await run(qemuImg, ["convert", "-f", "raw", "-O", "raw", url, `${dir}/out.raw`]);
    assert.equal(get.code, 0, get.stderr);
    const back = await Deno.readFile(`${dir}/out.raw`);
    assert.equal(back.length, SIZE);
    assert.ok(back.subarray(0, image.length).every((b, i) => b === image[i]), "image differs after round trip");
    assert.ok(back.subarray(image.length).every((b) => b === 0), "tail of the LUN should stay zero");
  });
});

Deno.test("qemu-io pattern writes and reads, from two sessions at once", async () => {
  const qemuIo = await requireTool("qemu-io");
  await withTarget({}, async (t) => {
    const url = `${t.url}/0`;
    const io = (cmds: string[]) => run(qemuIo, ["-f", "raw", ...cmds.flatMap((c) => ["-c", c]), url]);
    const [a, b] = await Promise.all([
      io(["write -P 0xab 0 1M", "read -P 0xab 0 1M"]),
      io(["write -P 0xcd 4M 3M", "read -P 0xcd 4M 3M"]),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /Pattern verification failed|error/i);
    }
    const check = await io(["read -P 0xab 0 1M", "read -P 0 1M 3M", "read -P 0xcd 4M 3M"]);
    assert.doesNotMatch(check.stdout + check.stderr, /Pattern verification failed/);
    const wrong = await io(["read -P 0x11 0 4k"]);
    assert.match(wrong.stdout + wrong.stderr, /Pattern verification failed/);
  });
});

Deno.test("CHAP: right secret logs in, wrong secret is rejected; mutual CHAP verifies the target", async () => {
  const ls = await requireTool("iscsi-ls");
  await withTarget({ chap: CHAP }, async (t) => {
    const base = (user: string, secret: string, extra = "") =>
      `iscsi://${user}%${secret}@${t.address}/${OUR_IQN}/0${extra}`;
    const ok = await run(ls, [base(CHAP.user, CHAP.secret).replace(`/${OUR_IQN}/0`, "/")]);
    assert.equal(ok.code, 0, ok.stderr);
    const inq = await requireTool("iscsi-inq");
    const good = await run(inq, [base(CHAP.user, CHAP.secret)]);
    assert.equal(good.code, 0, good.stderr);
    const bad = await run(inq, [base(CHAP.user, "not-the-secret")]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /Authentication failure|[Ll]ogin/);
    const none = await run(inq, [`${t.url}/0`]);
    assert.notEqual(none.code, 0, "login without CHAP must fail");
    const mutual = await run(inq, [
      base(CHAP.user, CHAP.secret, `?target_user=${CHAP.mutualUser}&target_password=${CHAP.mutualSecret}`),
    ]);
    assert.equal(mutual.code, 0, mutual.stderr);
    const impostor = await run(inq, [
      base(CHAP.user, CHAP.secret, `?target_user=${CHAP.mutualUser}&target_password=wrong-target-secret`),
    ]);
    assert.notEqual(impostor.code, 0, "initiator must reject a target that cannot prove the mutual secret");
  });
});

Deno.test("target NOP-In pings keep an idle session alive", async () => {
  const qemuIo = await requireTool("qemu-io");
  await withTarget({ nopIntervalMs: 100 }, async (t) => {
    const child = run(qemuIo, ["-f", "raw", "-c", "sleep 1200", "-c", "read -P 0 0 4k", `${t.url}/0`]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(t.target.sessions().length, 1);
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /failed|error/i);
  });
});
