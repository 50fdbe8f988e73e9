import { FRAME_PING, writeFrameHeader as header } from './frames.js';

/**
 * A connection's once-a-second clock. Coarse call deadlines without a per-call timestamp: each tick
 * remembers the next stream id, and a stream older than `timeoutSeconds` marks is overdue (so a call
 * may end up to 1 s after its deadline). The same tick drives keepalive: a PING after `idleLimitTicks`
 * quiet seconds or a missed deadline, and the connection is dropped when its ACK does not come within
 * `ackLimitTicks`.
 */
export class SweepClock {
  private tick = 0;
  private readSinceTick = false;
  private idleTicks = 0;
  /** Tick the unanswered PING was sent at (its payload), or -1. */
  private pingSentTick = -1;
  private readonly marks: number[] = [];
  private readonly idleLimitTicks: number;
  private readonly ackLimitTicks: number;

  constructor(
    readonly timeoutSeconds: number,
    keepaliveIdleMs: number,
    keepaliveTimeoutMs: number,
  ) {
    this.idleLimitTicks = Math.max(1, Math.ceil(keepaliveIdleMs / 1000));
    // +1: the sweep is coarse, a PING sent just before a tick must get a whole period.
    this.ackLimitTicks = Math.max(1, Math.ceil(keepaliveTimeoutMs / 1000)) + 1;
  }

  /** Bytes came in since the last tick: the connection is not idle. */
  sawRead(): void {
    this.readSinceTick = true;
  }

  /** A PING ACK came; `payload` is the second 32-bit word of its data (our tick). */
  pingAcked(payload: number): void {
    if (payload === this.pingSentTick) this.pingSentTick = -1;
  }

  /** Advances one second; true when our PING has gone unanswered for too long. */
  advance(): boolean {
    this.tick++;
    if (this.pingSentTick >= 0 && this.tick - this.pingSentTick >= this.ackLimitTicks) return true;
    this.idleTicks = this.readSinceTick ? 0 : this.idleTicks + 1;
    this.readSinceTick = false;
    return false;
  }

  /** Remembers this second's next stream id; streams below the returned id are overdue (0: none yet). */
  overdueBelow(nextStreamId: number): number {
    this.marks.push(nextStreamId);
    return this.marks.length > this.timeoutSeconds ? (this.marks.shift() ?? 0) : 0;
  }

  /** A missed deadline or a quiet connection: the PING to send (is the server still there?), or null. */
  pingDue(expired: boolean): Buffer | null {
    if (this.pingSentTick >= 0 || !(expired || this.idleTicks >= this.idleLimitTicks)) return null;
    this.idleTicks = 0;
    this.pingSentTick = this.tick;
    const ping = Buffer.alloc(17);
    header(ping, 0, 8, FRAME_PING, 0, 0);
    ping.writeUInt32BE(this.tick, 13);
    return ping;
  }

  /** How long an unanswered PING is waited for, as reported in KeepaliveTimeoutError. */
  get ackTimeoutMs(): number {
    return (this.ackLimitTicks - 1) * 1000;
  }
}
