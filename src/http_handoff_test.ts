import assert from "node:assert/strict";
import { handOff, markDisposable, markRecyclable, releaseSent } from "./http_handoff.ts";

const KiB = 1024;

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

async function withServer(
  body: () => ReadableStream<Uint8Array>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, onError: () => new Response(null, { status: 500 }) },
    () => new Response(handOff(body())),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("handOff() through Deno.serve sends every byte and detaches only the disposable chunks it has sent", async () => {
  const data = randomBytes(4 * 1024 * KiB + 123);
  const shared = data.slice(0, 100 * KiB); // a buffer someone else still uses: never marked
  const sent: Uint8Array[] = [];
  await withServer(() => {
    let offset = 0;
    let sharedSent = false;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sharedSent) {
          sharedSent = true;
          return controller.enqueue(shared);
        }
        if (offset === data.byteLength) return controller.close();
        const chunk = markDisposable(data.slice(offset, Math.min(data.byteLength, offset + 256 * KiB)));
        offset += chunk.byteLength;
        sent.push(chunk);
        controller.enqueue(chunk);
      },
    });
  }, async (url) => {
    const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
    assert.equal(got.byteLength, shared.byteLength + data.byteLength);
    assert.deepEqual(got.subarray(0, shared.byteLength), data.subarray(0, shared.byteLength));
    assert.deepEqual(got.subarray(shared.byteLength), data);
  });
  assert.equal(shared.byteLength, 100 * KiB, "an unmarked chunk is left as it is");
  assert.equal(sent.length, 17);
  // The server asked past every chunk (past the last one for the end of the stream): all were detached.
  assert.deepEqual(sent.map((c) => c.byteLength), new Array(17).fill(0));
});

Deno.test("handOff() passes a client's disconnect on as a cancel of the source", async () => {
  let cancelled: (reason: unknown) => void;
  const cancel = new Promise((resolve) => cancelled = resolve);
  await withServer(() =>
    new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(markDisposable(new Uint8Array(256 * KiB))),
      cancel: (reason) => cancelled(reason),
    }), async (url) => {
    const res = await fetch(url);
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 2 * 1024 * KiB) got += (await reader.read()).value!.byteLength;
    await reader.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the source was not cancelled")), 10_000);
    });
    await Promise.race([cancel, timeout]).finally(() => clearTimeout(timer));
  });
});

Deno.test("handOff() passes a source's error on to the response", async () => {
  let n = 0;
  await withServer(() =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++n > 4) return controller.error(new Error("disk read failed"));
        controller.enqueue(markDisposable(new Uint8Array(256 * KiB)));
      },
    }), async (url) => {
    const res = await fetch(url);
    await assert.rejects(res.arrayBuffer());
  });
});

Deno.test("releaseSent() gives a recyclable chunk's block back without a copy, leaving every old view detached", () => {
  const given: Uint8Array<ArrayBuffer>[] = [];
  const memory = new ArrayBuffer(8 * KiB);
  const block = new Uint8Array(memory, 4 * KiB, 2 * KiB);
  block.fill(7);
  const chunk = markRecyclable(block.subarray(100, 600), block, (b) => given.push(b));
  const address = Deno.UnsafePointer.value(Deno.UnsafePointer.of(block));

  releaseSent(chunk);
  assert.equal(given.length, 1);
  assert.equal(chunk.byteLength, 0, "the chunk sent is detached");
  assert.equal(block.byteLength, 0, "so is every other view of the old buffer");
  const back = given[0]!;
  assert.equal(back.byteOffset, 4 * KiB);
  assert.equal(back.byteLength, 2 * KiB);
  assert.equal(Deno.UnsafePointer.value(Deno.UnsafePointer.of(back)), address, "the same memory, not a copy");
  assert.ok(back.every((b) => b === 7));

  releaseSent(back); // no longer marked: left alone
  assert.equal(back.byteLength, 2 * KiB);
  assert.equal(given.length, 1);

  const plain = markDisposable(new Uint8Array(KiB));
  releaseSent(plain);
  assert.equal(plain.byteLength, 0, "a disposable chunk is detached");
  assert.equal(given.length, 1);
});

Deno.test("handOff() through Deno.serve detaches recyclable chunks but never gives their memory back", async () => {
  const data = randomBytes(2 * 1024 * KiB);
  const given: Uint8Array[] = [];
  const sent: Uint8Array[] = [];
  await withServer(() => {
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset === data.byteLength) return controller.close();
        const block = data.slice(offset, offset + 256 * KiB);
        offset += block.byteLength;
        const chunk = markRecyclable(block, block, (b) => given.push(b));
        sent.push(chunk);
        controller.enqueue(chunk);
      },
    });
  }, async (url) => {
    assert.deepEqual(new Uint8Array(await (await fetch(url)).arrayBuffer()), data);
  });
  assert.deepEqual(sent.map((c) => c.byteLength), new Array(8).fill(0));
  assert.equal(given.length, 0, "Deno.serve may still be sending a chunk when it asks for the next one");
});
