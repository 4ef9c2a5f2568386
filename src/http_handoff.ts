/**
 * Response-body chunks handed to Deno's HTTP server without leaving their memory to V8's garbage collector.
 *
 * `Deno.serve` passes each chunk of a JavaScript body stream to Rust without copying it and keeps the memory until
 * the chunk is sent. The chunk's ArrayBuffer, though, stays counted as V8 external memory until a GC finds it dead,
 * so a large download allocates its whole size that way, and V8 counts external memory against the same limit as
 * its old generation: with the appliance's small heap, a download could run 40–66 mark-compacts per GiB (3–5 ms of
 * CPU per MiB instead of ~1.4). A producer that reads into a fresh buffer per chunk marks the chunk `disposable`;
 * `handOff` detaches such a chunk once the server asks for the next one (Deno.serve writes a chunk to Rust before it
 * reads the next), which takes it out of V8's accounting while Rust still holds the memory.
 *
 * A producer that reads into blocks of a pool marks each chunk `recyclable` instead: a server whose write of the chunk
 * has completed (the bytes are in the kernel, as with `node:http`) gives the block back to the pool, so the next read
 * reuses memory already mapped. A fresh 1 MiB buffer per read costs V8's zeroing and the kernel's page faults on first
 * touch; direct reads of a 1 GiB object's part files into fresh buffers ran 1,068–1,088 MiB/s here against 1,448–1,479
 * into reused ones. `handOff` only detaches such a chunk: `Deno.serve` still holds its memory then.
 *
 * @module
 */

/** Buffers whose only user is the consumer of the chunk that views them. */
const disposable = new WeakSet<ArrayBufferLike>();

/** Marks `chunk` (a view of a buffer nothing else uses) as one a server may detach once it has sent it. */
export function markDisposable(chunk: Uint8Array): Uint8Array {
  disposable.add(chunk.buffer);
  return chunk;
}

/** Where a recyclable chunk's memory goes back to: the whole block it views, and the pool's `give`. */
interface Recycler {
  offset: number;
  length: number;
  give(block: Uint8Array<ArrayBuffer>): void;
}
const recyclable = new WeakMap<ArrayBufferLike, Recycler>();

/**
 * Marks `chunk` (a view of `block`, a block nothing else uses, taken from a pool) as one whose block a server gives
 * back with `give` once the chunk is written.
 */
export function markRecyclable(
  chunk: Uint8Array,
  block: Uint8Array<ArrayBuffer>,
  give: (block: Uint8Array<ArrayBuffer>) => void,
): Uint8Array {
  recyclable.set(block.buffer, { offset: block.byteOffset, length: block.byteLength, give });
  return markDisposable(chunk);
}

/** Detaches `chunk`'s buffer if it is disposable, without giving its memory back (someone may still read it). */
function detach(chunk: Uint8Array): void {
  recyclable.delete(chunk.buffer);
  if (disposable.delete(chunk.buffer)) (chunk.buffer as ArrayBuffer).transfer(0);
}

/**
 * For a server once the chunk's bytes are written out and its memory is no longer read: gives a recyclable chunk's
 * block back to its pool (moved to a new ArrayBuffer, without a copy; every old view of it is left detached), and
 * detaches a disposable one.
 */
export function releaseSent(chunk: Uint8Array): void {
  const recycler = recyclable.get(chunk.buffer);
  if (!recycler) return detach(chunk);
  recyclable.delete(chunk.buffer);
  disposable.delete(chunk.buffer);
  const moved = (chunk.buffer as ArrayBuffer).transfer();
  recycler.give(new Uint8Array(moved, recycler.offset, recycler.length));
}

/**
 * Passes `body` through to `Deno.serve`, detaching each disposable chunk when the server reads the next one. Only
 * for a body handed to the server as it is: a consumer that keeps chunks (e.g. `Response.arrayBuffer()`) would find
 * them emptied.
 */
export function handOff(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let sent: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent !== undefined) detach(sent);
      sent = undefined;
      try {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        sent = value;
        controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
