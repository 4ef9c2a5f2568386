/** Types shared by the iSCSI layers and the public surface in `mod.ts`. */
import type { BlockDevice } from "../blockdev/block_device.ts";

export interface ChapConfig {
  user: string;
  secret: string;
  /** Set both for mutual CHAP: the target proves itself to the initiator with these. */
  mutualUser?: string;
  mutualSecret?: string;
}

/** What a target IQN exports: its LUNs and, optionally, the CHAP credentials an initiator must present. */
export interface TargetConfig {
  luns: Map<number, BlockDevice>;
  chap?: ChapConfig;
  alias?: string;
}

export interface SessionInfo {
  tsih: number;
  initiatorName: string;
  isid: string;
  targetName: string;
  type: "Discovery" | "Normal";
  remoteAddress: string;
  headerDigest: boolean;
  dataDigest: boolean;
  commandsInFlight: number;
  /** ISO time of login. */
  since: string;
}
