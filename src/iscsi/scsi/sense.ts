/**
 * SCSI status and sense data (SPC-4 §4.5), and the one map from errors to sense: ScsiError carries its own sense,
 * AppError/RangeError from the block device become ILLEGAL REQUEST, DATA PROTECT or MEDIUM ERROR.
 */
import { isAppError } from "../../errors.ts";

export const Status = {
  Good: 0x00,
  CheckCondition: 0x02,
  ReservationConflict: 0x18,
} as const;

export const SenseKey = {
  NoSense: 0x0,
  MediumError: 0x3,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  Miscompare: 0xe,
} as const;

/** Additional sense code + qualifier pairs used by this target. */
export const Asc = {
  InvalidOpcode: [0x20, 0x00],
  LbaOutOfRange: [0x21, 0x00],
  InvalidFieldInCdb: [0x24, 0x00],
  LunNotSupported: [0x25, 0x00],
  InvalidFieldInParameterList: [0x26, 0x00],
  InvalidReleaseOfPr: [0x26, 0x04],
  ParameterListLengthError: [0x1a, 0x00],
  WriteProtected: [0x27, 0x00],
  SpaceAllocationFailed: [0x27, 0x07],
  SavingParametersNotSupported: [0x39, 0x00],
  MiscompareDuringVerify: [0x1d, 0x00],
  UnrecoveredReadError: [0x11, 0x00],
  WriteError: [0x0c, 0x00],
  BusDeviceReset: [0x29, 0x03],
  TargetReset: [0x29, 0x02],
  ReservationsPreempted: [0x2a, 0x03],
  ReservationsReleased: [0x2a, 0x04],
  RegistrationsPreempted: [0x2a, 0x05],
  CapacityDataChanged: [0x2a, 0x09],
  NoAdditionalSense: [0x00, 0x00],
} as const;

export type AscPair = readonly [number, number];

/** Points at the offending byte (and bit) of the CDB or parameter list: the SKSV sense-key specific field. */
export interface FieldPointer {
  inCdb: boolean;
  byte: number;
  bit?: number;
}

export interface Sense {
  key: number;
  asc: AscPair;
  information?: number;
  field?: FieldPointer;
}

/** Thrown by command handlers to end a command with CHECK CONDITION and this sense. */
export class ScsiError extends Error {
  readonly sense: Sense;
  constructor(key: number, asc: AscPair, options: { information?: number; field?: FieldPointer } = {}) {
    super(`SCSI check condition: key 0x${key.toString(16)} asc 0x${asc[0].toString(16)}/0x${asc[1].toString(16)}`);
    this.name = "ScsiError";
    this.sense = { key, asc, ...options };
  }
}

/** ILLEGAL REQUEST / INVALID FIELD IN CDB pointing at `byte` (and `bit`). */
export function invalidField(byte: number, bit?: number): ScsiError {
  return new ScsiError(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, {
    field: bit === undefined ? { inCdb: true, byte } : { inCdb: true, byte, bit },
  });
}

export function invalidParameter(byte: number, bit?: number): ScsiError {
  return new ScsiError(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, {
    field: bit === undefined ? { inCdb: false, byte } : { inCdb: false, byte, bit },
  });
}

/** Encode fixed-format sense data (response code 0x70), 18 bytes. */
export function encodeSense(sense: Sense): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = 0x70;
  b[2] = sense.key;
  if (sense.information !== undefined) {
    b[0] |= 0x80;
    new DataView(b.buffer).setUint32(3, sense.information >>> 0);
  }
  b[7] = 10;
  b[12] = sense.asc[0];
  b[13] = sense.asc[1];
  if (sense.field) {
    b[15] = 0x80 | (sense.field.inCdb ? 0x40 : 0) | (sense.field.bit !== undefined ? 0x08 | sense.field.bit : 0);
    b[16] = sense.field.byte >> 8;
    b[17] = sense.field.byte & 0xff;
  }
  return b;
}

/** Map any error thrown while executing a command to sense data (`write` picks the medium error flavour). */
export function senseFromError(err: unknown, write: boolean): Sense {
  if (err instanceof ScsiError) return err.sense;
  if (err instanceof RangeError || isAppError(err, "InvalidRange", "InvalidArgument")) {
    return { key: SenseKey.IllegalRequest, asc: Asc.LbaOutOfRange };
  }
  if (isAppError(err, "Forbidden")) return { key: SenseKey.DataProtect, asc: Asc.WriteProtected };
  if (isAppError(err, "NoSpace")) return { key: SenseKey.DataProtect, asc: Asc.SpaceAllocationFailed };
  return { key: SenseKey.MediumError, asc: write ? Asc.WriteError : Asc.UnrecoveredReadError };
}
