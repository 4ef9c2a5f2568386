/**
 * The `BlockDevice` interface between the iSCSI target (`src/iscsi`) and the volumes that back its LUNs
 * (`src/blockdev`: chunked volumes in a bucket). Offsets and lengths are in bytes and always multiples of
 * `blockSize`; callers (the SCSI layer) check ranges against `sizeBytes` before calling.
 *
 * @module
 */

export interface BlockDevice {
  /** Stable identity of the volume (a UUID); the SCSI layer derives its NAA/serial identifiers from it. */
  readonly id: string;
  /** Logical block size in bytes: 512 or 4096. */
  readonly blockSize: number;
  /** Capacity in bytes (a multiple of blockSize). */
  readonly sizeBytes: number;
  /** True when writes are refused (e.g. a snapshot exported read-only). */
  readonly readOnly: boolean;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Resolves once the data is durable locally; with `fua`, once it is durable in the backing store. */
  write(offset: number, data: Uint8Array, options?: { fua?: boolean }): Promise<void>;
  /** Deallocate: the range reads as zeros afterwards and stops using space. */
  unmap(offset: number, length: number): Promise<void>;
  /** Make every acknowledged write durable in the backing store (SYNCHRONIZE CACHE). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A RAM-backed device for tests of the SCSI/iSCSI layers. */
export function createMemoryBlockDevice(
  options: { id: string; sizeBytes: number; blockSize?: number; readOnly?: boolean },
): BlockDevice {
  const blockSize = options.blockSize ?? 512;
  if (options.sizeBytes % blockSize !== 0) {
    throw new RangeError(`Cannot create device: size ${options.sizeBytes} is not a multiple of ${blockSize}`);
  }
  const bytes = new Uint8Array(options.sizeBytes);
  function check(offset: number, length: number) {
    if (offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new RangeError(`Cannot access bytes ${offset}+${length}: device has ${bytes.length}`);
    }
  }
  return {
    id: options.id,
    blockSize,
    sizeBytes: options.sizeBytes,
    readOnly: options.readOnly ?? false,
    read(offset, length) {
      check(offset, length);
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    write(offset, data) {
      check(offset, data.length);
      bytes.set(data, offset);
      return Promise.resolve();
    },
    unmap(offset, length) {
      check(offset, length);
      bytes.fill(0, offset, offset + length);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
