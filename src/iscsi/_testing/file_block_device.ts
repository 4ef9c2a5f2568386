/**
 * A BlockDevice over a plain local file, so conformance runs and benchmarks compare this target with tgtd on the
 * same kind of backing store. A small pool of file handles lets concurrent commands proceed in parallel.
 */
import type { BlockDevice } from "../../blockdev/block_device.ts";

const HANDLES = 4;
const ZERO_CHUNK = 1024 * 1024;

export async function openFileBlockDevice(
  path: string,
  options: { id: string; sizeBytes: number; blockSize?: number },
): Promise<BlockDevice> {
  const blockSize = options.blockSize ?? 512;
  if (options.sizeBytes % blockSize !== 0) {
    throw new RangeError(`Cannot open device: size ${options.sizeBytes} is not a multiple of ${blockSize}`);
  }
  const first = await Deno.open(path, { read: true, write: true, create: true });
  await first.truncate(options.sizeBytes);
  const idle: Deno.FsFile[] = [first];
  for (let i = 1; i < HANDLES; i++) idle.push(await Deno.open(path, { read: true, write: true }));
  const all = [...idle];
  const waiting: ((f: Deno.FsFile) => void)[] = [];

  async function withHandle<T>(fn: (f: Deno.FsFile) => Promise<T>): Promise<T> {
    const f = idle.pop() ?? await new Promise<Deno.FsFile>((r) => waiting.push(r));
    try {
      return await fn(f);
    } finally {
      const next = waiting.shift();
      if (next) next(f);
      else idle.push(f);
    }
  }

  function check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > options.sizeBytes) {
      throw new RangeError(`Cannot access bytes ${offset}+${length}: device has ${options.sizeBytes}`);
    }
  }

  return {
    id: options.id,
    blockSize,
    sizeBytes: options.sizeBytes,
    readOnly: false,
    read(offset, length) {
      check(offset, length);
      return withHandle(async (f) => {
        await f.seek(offset, Deno.SeekMode.Start);
        const out = new Uint8Array(length);
        for (let got = 0; got < length;) {
          const n = await f.read(out.subarray(got));
          if (n === null) break; // beyond the written end: sparse zeros
          got += n;
        }
        return out;
      });
    },
    write(offset, data, opts) {
      check(offset, data.length);
      return withHandle(async (f) => {
        await f.seek(offset, Deno.SeekMode.Start);
        for (let done = 0; done < data.length;) done += await f.write(data.subarray(done));
        if (opts?.fua) await f.syncData();
      });
    },
    unmap(offset, length) {
      check(offset, length);
      const zeros = new Uint8Array(Math.min(length, ZERO_CHUNK));
      return withHandle(async (f) => {
        await f.seek(offset, Deno.SeekMode.Start);
        for (let done = 0; done < length;) {
          done += await f.write(zeros.subarray(0, Math.min(zeros.length, length - done)));
        }
      });
    },
    flush: () => withHandle((f) => f.syncData()),
    close() {
      for (const f of all) f.close();
      return Promise.resolve();
    },
  };
}
