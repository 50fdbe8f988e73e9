/**
 * One HTTP/2 session (node:http2, i.e. nghttp2) to one member, dialled on first use and again after it
 * is lost, with a keepalive that finds a dead connection: a PING after a deadline passed or after an
 * idle spell, and no ACK within `pingTimeoutMs` destroys the session. A connection that went silent
 * (a black-holing firewall, a frozen host) is therefore dropped at most one deadline plus one PING
 * timeout after the call that noticed it: twice --request-timeout. nghttp2 answers the member's PINGs,
 * SETTINGS and WINDOW_UPDATEs itself and bounds header blocks and session memory.
 */
import http2 from 'node:http2';
import { ConnectionResetError } from '../../util/errors.js';
import { dialH2Socket, targetEndpoint, type H2Target } from '../h2/dial.js';

export interface SessionOptions {
  readonly dialTimeoutMs: number;
  /** A PING not acknowledged within this many ms means the connection is dead. */
  readonly pingTimeoutMs: number;
  /**
   * A PING after this long without an answer on the session, and only if something was answered since
   * the last PING: etcd's gRPC server (grpc-go keepalive enforcement, PermitWithoutStream false) counts
   * a PING on a connection it has written nothing to since the last one as a strike, and answers the
   * third strike with GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
   */
  readonly idlePingMs: number;
}

/** One live session and its keepalive state. */
interface Live {
  readonly session: http2.ClientHttp2Session;
  lastAnswer: number;
  answeredSincePing: boolean;
  pingTimer: NodeJS.Timeout | undefined;
}

export class MemberSession {
  readonly endpoint: string;
  private current: Live | undefined;
  private dialing: Promise<Live> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Sessions dialled so far (a redial after a lost connection counts one more). */
  dials = 0;

  constructor(
    private readonly target: H2Target,
    private readonly options: SessionOptions,
  ) {
    this.endpoint = targetEndpoint(target);
  }

  /** The live session, dialling one (within `timeoutMs` at most) if there is none. */
  async acquire(timeoutMs: number): Promise<http2.ClientHttp2Session> {
    const live = this.current;
    if (live && !live.session.closed && !live.session.destroyed) return live.session;
    this.dialing ??= this.dial(Math.max(1, Math.min(timeoutMs, this.options.dialTimeoutMs))).finally(() => {
      this.dialing = undefined;
    });
    return (await this.dialing).session;
  }

  /** A complete answer arrived on `session`: it is alive. */
  answered(session: http2.ClientHttp2Session): void {
    const live = this.current;
    if (live?.session !== session) return;
    live.lastAnswer = Date.now();
    live.answeredSincePing = true;
  }

  /** A call on `session` passed its deadline: ask the member whether the connection still carries anything. */
  deadlinePassed(session: http2.ClientHttp2Session): void {
    const live = this.current;
    if (live?.session === session) this.ping(live);
  }

  /** Stops using `session` (it broke a rule, or cannot open streams any more); its calls fail. */
  discard(session: http2.ClientHttp2Session, err?: Error): void {
    const live = this.current;
    if (live?.session === session) this.forget(live);
    if (!session.destroyed) session.destroy(err);
  }

  /** Closes the session; a later call dials a new one. */
  close(): void {
    const live = this.current;
    if (live) {
      this.forget(live);
      live.session.destroy();
    }
  }

  private async dial(timeoutMs: number): Promise<Live> {
    // Over TLS dialH2Socket accepts only a server that selected ALPN h2 (RFC 7540 §3.3): anything else
    // would read our connection preface as garbage.
    const socket = await dialH2Socket(this.target, timeoutMs);
    this.dials++;
    const session = http2.connect(this.endpoint, {
      createConnection: () => socket,
      settings: { enablePush: false },
    });
    const live: Live = { session, lastAnswer: Date.now(), answeredSincePing: false, pingTimer: undefined };
    // Without an 'error' listener a session error would be thrown out of the event loop; the calls on
    // the session see it on their streams.
    session.on('error', () => this.forget(live));
    // After a GOAWAY nghttp2 finishes the streams the member still processes and fails the others with
    // REFUSED_STREAM; new calls go to a new session.
    session.on('goaway', () => {
      this.forget(live);
      if (!session.closed) session.close();
    });
    session.on('close', () => this.forget(live));
    this.current = live;
    this.idleTimer ??= setInterval(() => this.idleCheck(), this.options.idlePingMs).unref();
    return live;
  }

  private idleCheck(): void {
    const live = this.current;
    if (!live) return;
    if (live.answeredSincePing && Date.now() - live.lastAnswer >= this.options.idlePingMs) this.ping(live);
  }

  private ping(live: Live): void {
    const { session } = live;
    if (live.pingTimer || session.closed || session.destroyed) return;
    live.answeredSincePing = false;
    const timeoutMs = this.options.pingTimeoutMs;
    const timer = setTimeout(() => {
      live.pingTimer = undefined;
      this.discard(
        session,
        new ConnectionResetError(this.endpoint, { detail: `keepalive: no PING ACK within ${timeoutMs} ms` }),
      );
    }, timeoutMs);
    live.pingTimer = timer;
    const done = (): void => {
      clearTimeout(timer);
      if (live.pingTimer === timer) live.pingTimer = undefined;
    };
    try {
      // false: too many PINGs unanswered already (maxOutstandingPings); the timer decides.
      session.ping(done);
    } catch {
      done(); // the session is closing; its own events take care of it
    }
  }

  private forget(live: Live): void {
    if (live.pingTimer && live.session.destroyed) {
      clearTimeout(live.pingTimer);
      live.pingTimer = undefined;
    }
    if (this.current !== live) return;
    this.current = undefined;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
  }
}
