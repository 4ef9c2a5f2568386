/**
 * One iSCSI connection from login to logout: drives the login state machine, then dispatches full-feature-phase
 * PDUs (SCSI, Data-Out, NOP, task management, Text, Logout) under the CmdSN window. Byte I/O is the transport's job.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { ActiveSession, ConnectionCore, Task } from "./connection_core.ts";
import { type Digests, encodeFrame, type Pdu, RESERVED_TAG } from "./pdu/bhs.ts";
import { decodeInitiatorPdu, type InitiatorPdu, type LoginRequestPdu, type ScsiCommandPdu } from "./pdu/initiator.ts";
import {
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeNopIn,
  encodeReject,
  encodeTextResponse,
  RejectReason,
  type Sequence,
} from "./pdu/target.ts";
import { decodeTextKeys, encodeTextKeys } from "./pdu/text_keys.ts";
import { forgetNexus } from "./scsi/logical_unit.ts";
import { CommandSequencer } from "./command_sequencer.ts";
import { initialLoginState, type LoginAction, type LoginState, step } from "./session/login_fsm.ts";
import { TARGET_LIMITS } from "./session/negotiate.ts";
import { answerTextKeys } from "./session/send_targets.ts";
import { acceptDataOut, startScsiCommand } from "./scsi_task.ts";
import { abortTasks, handleTaskManagement } from "./task_management.ts";
import type { SessionHandle, TargetDirectory } from "./target_directory.ts";
import type { SessionInfo } from "./types.ts";
import { concatBytes } from "../bytes.ts";

/** Commands the initiator may have outstanding (MaxCmdSN - ExpCmdSN + 1). */
export const QUEUE_DEPTH = 64;

export interface ConnectionIo {
  /** Queue bytes; resolves once the socket took them (backpressure). */
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
  /** "host:port" the initiator connected to (announced in SendTargets). */
  localAddress: string;
  remoteAddress: string;
}

export interface ConnectionDeps {
  directory: TargetDirectory;
  clock: Clock;
  logger: Logger;
  random(length: number): Uint8Array;
  /** Idle interval between target NOP-In pings; a ping unanswered by the next one drops the connection. */
  nopIntervalMs: number;
  /** A connection that has not completed login by then is dropped. */
  loginTimeoutMs: number;
}

export interface Connection {
  receive(pdu: Pdu): Promise<void>;
  /** Current framing parameters for the transport's reader. */
  framing(): { digests: Digests; maxData: number };
  /** Reject a PDU whose data digest failed. */
  rejectDigest(bhs: Uint8Array): Promise<void>;
  /** Protocol violation found by the transport's decoder. */
  rejectMalformed(bhs: Uint8Array, reason: string): Promise<void>;
  /** The socket is gone: abort tasks and leave the session. */
  closed(): Promise<void>;
}

export function createConnection(io: ConnectionIo, deps: ConnectionDeps): Connection {
  const log = deps.logger;
  let login: LoginState = initialLoginState(TARGET_LIMITS.maxRecvDataSegmentLength);
  let loginText: Uint8Array[] = [];
  let isid: Uint8Array = new Uint8Array(6);
  let statSN = 0;
  const sequencer = new CommandSequencer(QUEUE_DEPTH);
  let digests: Digests = { header: false, data: false };
  let session: ActiveSession | undefined;
  let handle: SessionHandle | undefined;
  let ending = false;
  let since = "";
  let lastTtt = 0;
  let pingTtt: number | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  const tasks = new Map<number, Task>();
  const loginTimer = setTimeout(() => drop("login timed out"), deps.loginTimeoutMs);
  let textReply: { itt: number; ttt: number; rest: Uint8Array } | undefined;

  function sequence(advance: boolean): Sequence {
    const seq = { statSN, expCmdSN: sequencer.expCmdSN, maxCmdSN: sequencer.maxCmdSN };
    if (advance) statSN = (statSN + 1) >>> 0;
    return seq;
  }

  function send(bhs: Uint8Array, data: Uint8Array = new Uint8Array(0)): Promise<void> {
    return io.write(encodeFrame(bhs, data, digests));
  }

  function drop(reason: string): void {
    if (ending) return;
    ending = true;
    log.info("iscsi: closing connection", { reason, remote: io.remoteAddress });
    io.close();
  }

  function nextTtt(): number {
    lastTtt = (lastTtt + 1) % 0xfffffff0;
    return lastTtt;
  }

  const core: ConnectionCore = {
    get session() {
      return session!;
    },
    tasks,
    directory: deps.directory,
    logger: log,
    sequence,
    send,
    nextTtt,
    retire(task) {
      if (tasks.get(task.itt) !== task) return;
      tasks.delete(task.itt);
      sequencer.release(task.immediate);
    },
    drop,
  };

  async function reject(bhs: Uint8Array, reason: number): Promise<void> {
    await send(encodeReject({ reason, ...sequence(true) }), bhs.slice(0, 48));
  }

  // ---- login -------------------------------------------------------------------------------------------------

  async function onLogin(req: LoginRequestPdu): Promise<void> {
    if (login.phase === "initial" && loginText.length === 0) {
      statSN = req.expStatSN;
      sequencer.reset(req.cmdSN);
      isid = req.isid;
    }
    loginText.push(req.data);
    let keys: [string, string][] | undefined;
    if (!req.cont) {
      try {
        keys = decodeTextKeys(concatBytes(loginText));
      } catch (err) {
        return await loginFailure(req, 2, 0, `bad login text: ${(err as Error).message}`);
      }
      loginText = [];
    }
    if (req.tsih !== 0 && login.phase === "initial") {
      const existing = deps.directory.get(req.tsih);
      return await loginFailure(req, 2, existing ? 0x06 : 0x0a, "adding connections to a session is not supported");
    }
    const targetName = keys?.find(([k]) => k === "TargetName")?.[1];
    const target = login.phase === "initial" && targetName ? deps.directory.resolve(targetName) : login.target;
    const result = step(login, { req, keys, target, random: deps.random(17) });
    login = result.state;
    for (const action of result.actions) await perform(req, action);
  }

  async function perform(req: LoginRequestPdu, action: LoginAction): Promise<void> {
    switch (action.type) {
      case "respond":
        await sendLogin(req, { transit: action.transit, nsg: action.nsg, keys: action.keys, tsih: 0 });
        return;
      case "fail":
        return await loginFailure(req, action.statusClass, action.statusDetail, action.reason);
      case "complete": {
        const s = establish();
        await sendLogin(req, { transit: true, nsg: 3, keys: action.keys, tsih: s.tsih });
        digests = { header: s.params.headerDigest, data: s.params.dataDigest };
        clearTimeout(loginTimer);
        startPings();
        log.info("iscsi: login complete", {
          initiator: login.initiatorName,
          target: s.targetName,
          type: s.type,
          tsih: s.tsih,
        });
      }
    }
  }

  /** A login response; a failure status (class > 0) consumes no StatSN and carries no keys. */
  function sendLogin(
    req: LoginRequestPdu,
    r: { transit: boolean; nsg: number; keys: [string, string][]; tsih: number; status?: [number, number] },
  ): Promise<void> {
    const [statusClass, statusDetail] = r.status ?? [0, 0];
    const bhs = encodeLoginResponse({
      ...{ transit: r.transit, csg: req.csg, nsg: r.nsg, isid, tsih: r.tsih, itt: req.itt, statusClass, statusDetail },
      ...sequence(statusClass === 0),
    });
    return send(bhs, encodeTextKeys(r.keys));
  }

  async function loginFailure(req: LoginRequestPdu, cls: number, detail: number, reason: string): Promise<void> {
    log.info("iscsi: login rejected", { initiator: login.initiatorName, reason, remote: io.remoteAddress });
    await sendLogin(req, { transit: false, nsg: 0, keys: [], tsih: 0, status: [cls, detail] });
    drop("login failed");
  }

  function establish(): ActiveSession {
    const isidHex = isid.toHex();
    const nexusId = `${login.initiatorName},i,0x${isidHex}`;
    since = deps.clock.now().toISOString();
    const lus = login.target ? deps.directory.logicalUnits(login.targetName, login.target) : new Map();
    handle = deps.directory.add((tsih) => ({
      tsih,
      key: `${nexusId}\0${login.targetName}`,
      nexusId,
      targetName: login.targetName,
      info,
      abortTasks: (lun) => abortTasks(core, (t) => lun === undefined || t.lun === lun),
      drop: () => drop("session reinstated or reset"),
    }));
    session = {
      tsih: handle.tsih,
      type: login.sessionType,
      targetName: login.targetName,
      params: login.params,
      nexus: { id: nexusId, initiatorName: login.initiatorName, isid: isidHex },
      lus,
      lunNumbers: [...lus.keys()],
    };
    return session;
  }

  function info(): SessionInfo {
    const s = session!;
    return {
      tsih: s.tsih,
      initiatorName: s.nexus.initiatorName,
      isid: s.nexus.isid,
      targetName: s.targetName,
      type: s.type,
      remoteAddress: io.remoteAddress,
      headerDigest: s.params.headerDigest,
      dataDigest: s.params.dataDigest,
      commandsInFlight: tasks.size,
      since,
    };
  }

  // ---- full feature phase ------------------------------------------------------------------------------------

  function startPings(): void {
    if (deps.nopIntervalMs <= 0) return;
    pingTimer = setInterval(() => {
      if (pingTtt !== undefined) return drop("NOP-In ping unanswered");
      pingTtt = nextTtt();
      void send(encodeNopIn({ itt: RESERVED_TAG, ttt: pingTtt, lun: 0, ...sequence(false) })).catch(() => {});
    }, deps.nopIntervalMs);
  }

  async function ordered(cmdSN: number, immediate: boolean, fn: () => Promise<void>): Promise<void> {
    if (!(await sequencer.run(cmdSN, immediate, fn))) {
      log.debug("iscsi: command outside the CmdSN window ignored", { cmdSN, exp: sequencer.expCmdSN });
    }
  }

  /** Data collection starts at once (R2Ts may go out for a command ahead of a CmdSN gap); execution waits its turn. */
  async function onScsiCommand(pdu: ScsiCommandPdu): Promise<void> {
    let myTurn!: () => void;
    const turn = new Promise<void>((r) => (myTurn = r));
    const admitted = await sequencer.run(pdu.cmdSN, pdu.immediate, () => Promise.resolve(myTurn()));
    if (admitted) startScsiCommand(core, pdu, turn);
    else log.debug("iscsi: command outside the CmdSN window ignored", { cmdSN: pdu.cmdSN });
  }

  async function onFullFeature(pdu: InitiatorPdu, bhs: Uint8Array): Promise<void> {
    const s = session!;
    switch (pdu.kind) {
      case "scsi":
        if (s.type === "Discovery") return await reject(bhs, RejectReason.ProtocolError);
        if (tasks.has(pdu.itt)) return await reject(bhs, RejectReason.InvalidPduField);
        return await onScsiCommand(pdu);
      case "data-out":
        return acceptDataOut(core, pdu);
      case "nop-out":
        if (pdu.itt === RESERVED_TAG) {
          if (pdu.ttt !== RESERVED_TAG && pdu.ttt === pingTtt) pingTtt = undefined;
          return;
        }
        return await ordered(pdu.cmdSN, pdu.immediate, async () => {
          const echo = pdu.data.subarray(0, s.params.initiatorMaxRecvDataSegmentLength);
          sequencer.release(pdu.immediate);
          await send(encodeNopIn({ itt: pdu.itt, ttt: RESERVED_TAG, lun: pdu.lun, ...sequence(true) }), echo);
        });
      case "tmf":
        return await ordered(pdu.cmdSN, pdu.immediate, () => {
          sequencer.release(pdu.immediate);
          // Runs concurrently: the reader must keep accepting PDUs while aborted tasks wind down.
          void handleTaskManagement(core, pdu).catch((err) => log.warn("iscsi: TMF failed", { error: String(err) }));
          return Promise.resolve();
        });
      case "text":
        return await ordered(pdu.cmdSN, pdu.immediate, async () => {
          sequencer.release(pdu.immediate);
          await onText(pdu.itt, pdu.ttt, pdu.data, bhs);
        });
      case "logout":
        return await ordered(pdu.cmdSN, pdu.immediate, async () => {
          sequencer.release(pdu.immediate);
          await onLogout(pdu.itt, pdu.reason);
        });
      case "snack":
        return await reject(bhs, RejectReason.ProtocolError);
      case "login":
        return await reject(bhs, RejectReason.ProtocolError);
    }
  }

  async function onText(itt: number, ttt: number, data: Uint8Array, bhs: Uint8Array): Promise<void> {
    let payload: Uint8Array;
    if (ttt !== RESERVED_TAG) {
      if (!textReply || textReply.itt !== itt || textReply.ttt !== ttt) {
        return await reject(bhs, RejectReason.InvalidPduField);
      }
      payload = textReply.rest;
    } else {
      let keys: [string, string][];
      try {
        keys = decodeTextKeys(data);
      } catch {
        return await reject(bhs, RejectReason.InvalidPduField);
      }
      const s = session!;
      const ctx = { sessionType: s.type, targetName: s.targetName, portal: io.localAddress };
      payload = encodeTextKeys(answerTextKeys(keys, { ...ctx, allTargets: deps.directory.list() }));
    }
    const max = session!.params.initiatorMaxRecvDataSegmentLength;
    const final = payload.length <= max;
    const nextTag = final ? RESERVED_TAG : nextTtt();
    textReply = final ? undefined : { itt, ttt: nextTag, rest: payload.subarray(max) };
    await send(encodeTextResponse({ itt, final, ttt: nextTag, ...sequence(true) }), payload.subarray(0, max));
  }

  async function onLogout(itt: number, reason: number): Promise<void> {
    const response = reason === 2 ? 2 : 0;
    if (response === 0) {
      // Commands still waiting for Data-Out or behind a CmdSN gap never run; the rest finish first.
      await abortTasks(core, (t) => !t.started);
      await Promise.all([...tasks.values()].map((t) => t.done));
    }
    await send(encodeLogoutResponse({ itt, response, ...sequence(true) }));
    if (response === 0) drop("logout");
  }

  return {
    framing: () => ({ digests, maxData: TARGET_LIMITS.maxRecvDataSegmentLength }),
    async receive(raw) {
      if (ending) return;
      let pdu: InitiatorPdu;
      try {
        pdu = decodeInitiatorPdu(raw);
      } catch (err) {
        if (!session) return drop(`malformed PDU during login: ${(err as Error).message}`);
        log.debug("iscsi: rejecting malformed PDU", { error: (err as Error).message });
        return await reject(raw.bhs, RejectReason.InvalidPduField);
      }
      if (!session) {
        if (pdu.kind !== "login") return drop(`${pdu.kind} PDU before login completed`);
        return await onLogin(pdu);
      }
      await onFullFeature(pdu, raw.bhs);
    },
    async rejectDigest(bhs) {
      await reject(bhs, RejectReason.DataDigestError);
    },
    async rejectMalformed(bhs, reason) {
      if (!session) return drop(reason);
      await reject(bhs, RejectReason.ProtocolError);
    },
    async closed() {
      ending = true;
      clearTimeout(loginTimer);
      if (pingTimer !== undefined) clearInterval(pingTimer);
      await abortTasks(core, () => true);
      if (!session || !handle) return;
      if (deps.directory.get(session.tsih) === handle) deps.directory.remove(session.tsih);
      if (!deps.directory.findByKey(handle.key)) {
        for (const lu of session.lus.values()) forgetNexus(lu, session.nexus.id);
      }
    },
  };
}
