import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { ISnapshotResponse } from 'etcd3';
import { openClient, type EtcdConnection } from './client.js';
import {
  clusterEndpoints,
  endpointHealth,
  statuses,
  withMember,
  type EndpointHealth,
  type EndpointStatus,
} from './cluster.js';
import { CtlError, toCtlError } from './errors.js';

export interface DefragOptions {
  /** Only these members (client URLs); default every started member. Health is always checked cluster-wide. */
  readonly endpoints?: readonly string[];
  /** Deadline of one member's Defragment call; defrag blocks the member for a time that grows with the DB size. */
  readonly timeoutMs?: number;
  /** How long to wait for the whole cluster to be healthy again after each member. */
  readonly healthTimeoutMs?: number;
  /** Called after each member, for progress output. */
  readonly onMember?: (result: DefragMemberResult) => void;
}

export interface DefragMemberResult {
  readonly endpoint: string;
  readonly memberId: string;
  readonly wasLeader: boolean;
  readonly dbSizeBeforeBytes: number;
  readonly dbSizeAfterBytes: number;
  readonly durationMs: number;
}

const SHA256_BYTES = 32;

async function sickMembers(conn: EtcdConnection, endpoints: readonly string[]): Promise<EndpointHealth[]> {
  const health = await Promise.all(
    endpoints.map((e) => endpointHealth(conn, e, { ignoreAlarms: ['NOSPACE'] })),
  );
  return health.filter((h) => !h.healthy);
}

async function waitAllHealthy(
  conn: EtcdConnection,
  endpoints: readonly string[],
  timeoutMs: number,
): Promise<EndpointHealth[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sick = await sickMembers(conn, endpoints);
    if (sick.length === 0 || Date.now() >= deadline) return sick;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Defragments members one at a time, the leader last, checking that every member is healthy before the first
 * and after each one; stops (UNHEALTHY, with what was done in `details`) instead of defragmenting into an outage.
 * NOSPACE alarms do not count as unhealthy here, because compact + defrag + disarm is how NOSPACE is cleared.
 */
export async function defragCluster(
  conn: EtcdConnection,
  opts: DefragOptions = {},
): Promise<DefragMemberResult[]> {
  const client = openClient(conn);
  let all: string[];
  try {
    all = await clusterEndpoints(client);
  } finally {
    client.close();
  }
  const targets = opts.endpoints ? [...opts.endpoints] : [...all];
  const healthTimeoutMs = opts.healthTimeoutMs ?? 30_000;
  const done: DefragMemberResult[] = [];

  const preflight = await sickMembers(conn, all);
  if (preflight.length > 0) {
    throw new CtlError('UNHEALTHY', `defrag aborted before starting: ${describeSick(preflight)}`, {
      details: { done, remaining: targets, unhealthy: preflight },
    });
  }
  let remaining = targets;
  while (remaining.length > 0) {
    const { statuses: current, errors } = await statuses(conn, remaining);
    if (errors.length > 0) {
      throw new CtlError('UNHEALTHY', `defrag aborted: ${errors.map((e) => e.error).join('; ')}`, {
        details: { done, remaining, unhealthy: errors },
      });
    }
    // Re-read leadership every round: it may have moved while a member was blocked.
    const next = current.find((s) => !s.isLeader) ?? (current[0] as EndpointStatus);
    const result = await defragOne(conn, next, opts.timeoutMs ?? 120_000);
    done.push(result);
    opts.onMember?.(result);
    remaining = remaining.filter((e) => e !== next.endpoint);
    const sick = await waitAllHealthy(conn, all, healthTimeoutMs);
    if (sick.length > 0) {
      throw new CtlError('UNHEALTHY', `defrag stopped after ${next.endpoint}: ${describeSick(sick)}`, {
        details: { done, remaining, unhealthy: sick },
      });
    }
  }
  return done;
}

function describeSick(sick: EndpointHealth[]): string {
  return sick.map((h) => `${h.endpoint} unhealthy (${h.error ?? 'unknown'})`).join('; ');
}

async function defragOne(
  conn: EtcdConnection,
  before: EndpointStatus,
  timeoutMs: number,
): Promise<DefragMemberResult> {
  const started = performance.now();
  return withMember(conn, before.endpoint, async (c) => {
    try {
      await c.maintenance.defragment({ deadline: Date.now() + timeoutMs });
      const after = await c.maintenance.status();
      return {
        endpoint: before.endpoint,
        memberId: before.memberId,
        wasLeader: before.isLeader,
        dbSizeBeforeBytes: before.dbSizeBytes,
        dbSizeAfterBytes: Number(after.dbSize),
        durationMs: Math.round(performance.now() - started),
      };
    } catch (err) {
      throw toCtlError(err, `defrag ${before.endpoint}`);
    }
  });
}

export interface SnapshotResult {
  readonly path: string;
  readonly endpoint: string;
  /** Size of the database part of the file (the file itself has the 32-byte hash appended, as etcdctl writes it). */
  readonly sizeBytes: number;
  /** Size the member announced at the start of the stream. */
  readonly expectedSizeBytes: number;
  readonly sha256: string;
  readonly hashVerified: true;
}

/**
 * Streams a snapshot from one member into `path` (etcdctl snapshot save). etcd sends the bolt DB followed by
 * the SHA-256 of those bytes; the file keeps that trailer (so `etcdctl snapshot restore` can check it) and the
 * save fails with VERIFY_FAILED unless size and hash match. Writes to `path.part` and renames when verified.
 */
export async function snapshotSave(
  conn: EtcdConnection,
  endpoint: string,
  path: string,
  opts: { timeoutMs?: number } = {},
): Promise<SnapshotResult> {
  const partial = `${path}.part`;
  const file = await open(partial, 'w', 0o600);
  let ok = false;
  try {
    const result = await withMember(conn, endpoint, async (c) => {
      const hash = createHash('sha256');
      let pending = Buffer.alloc(0);
      let total = 0;
      let expected: number | undefined;
      try {
        const stream = await c.maintenance.snapshot({ deadline: Date.now() + (opts.timeoutMs ?? 300_000) });
        for await (const msg of stream as unknown as AsyncIterable<ISnapshotResponse>) {
          const blob = msg.blob ?? Buffer.alloc(0);
          expected ??= Number(msg.remaining_bytes) + blob.length;
          total += blob.length;
          await file.write(blob);
          // Everything but the last 32 bytes seen so far is database content.
          const joined = Buffer.concat([pending, blob]);
          const cut = Math.max(0, joined.length - SHA256_BYTES);
          hash.update(joined.subarray(0, cut));
          pending = Buffer.from(joined.subarray(cut));
        }
      } catch (err) {
        throw toCtlError(err, `snapshot from ${endpoint}`);
      }
      return {
        digest: hash.digest(),
        trailer: pending,
        dbBytes: total - SHA256_BYTES,
        expected: expected ?? 0,
      };
    });
    await file.sync();
    if (result.trailer.length !== SHA256_BYTES || result.dbBytes !== result.expected) {
      throw new CtlError(
        'VERIFY_FAILED',
        `snapshot size mismatch: announced ${result.expected} bytes, received ${result.dbBytes}`,
      );
    }
    if (!result.digest.equals(result.trailer)) {
      throw new CtlError(
        'VERIFY_FAILED',
        'snapshot hash mismatch: the SHA-256 trailer does not match the received data',
      );
    }
    await file.close();
    await rename(partial, path);
    ok = true;
    return {
      path,
      endpoint,
      sizeBytes: result.dbBytes,
      expectedSizeBytes: result.expected,
      sha256: result.digest.toString('hex'),
      hashVerified: true,
    };
  } finally {
    if (!ok) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
    }
  }
}
