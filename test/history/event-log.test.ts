import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventLog, type EventLogOptions } from '../../src/history/event-log.js';
import { createLogger } from '../../src/util/logger.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

// The bounded, persisted event log under both histories, on real files: a real full tmpfs for ENOSPC and
// a read-only mount for an unwritable --data-dir (root is needed for both; the mount fails loudly otherwise).

interface Ev {
  readonly seq: number;
  readonly text: string;
}

function parse(line: string): Ev | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const e = v as Partial<Ev>;
  return typeof e.seq === 'number' && typeof e.text === 'string' ? (e as Ev) : 'not an event';
}

function capturingLogger() {
  const out: string[] = [];
  const log = createLogger('debug', 'json', {
    write: (s: string) => out.push(s),
  } as unknown as NodeJS.WritableStream);
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const FILE = 'events.jsonl';
const options = (dir: string, log = capturingLogger().log): EventLogOptions<Ev> => ({
  name: 'test',
  title: 'test history',
  dir,
  fileName: FILE,
  log,
  parse,
});
const ev = (seq: number, text = `event ${seq}`): Ev => ({ seq, text });
const fileEvents = async (dir: string): Promise<Array<Ev | string>> =>
  (await readFile(path.join(dir, FILE), 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map(parse);

let tmp: string;
const mounts: Tmpfs[] = [];
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'event-log-'));
});
afterEach(async () => {
  for (const m of mounts.splice(0)) m.unmount();
  await rm(tmp, { recursive: true, force: true });
});

/** Writes to `file` until the filesystem is full; returns the bytes written. */
async function fillDisk(file: string): Promise<number> {
  const h = await open(file, 'w');
  const chunk = Buffer.alloc(4096, 'x');
  let written = 0;
  try {
    for (;;) written += (await h.write(chunk, 0, chunk.length, written)).bytesWritten;
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await h.close();
  }
  return written;
}

describe('event log', () => {
  it('starts on a 5,000-line file with corrupt lines: keeps the newest 1000, reports the rest, compacts', async () => {
    const lines: string[] = [];
    const valid: number[] = [];
    for (let i = 1; i <= 5000; i++) {
      if (i % 500 === 0) lines.push('{"seq": "broken"');
      else if (i % 777 === 0) lines.push('\u0000\u0000garbage');
      else {
        lines.push(JSON.stringify(ev(i)));
        valid.push(i);
      }
    }
    await writeFile(path.join(tmp, FILE), lines.join('\n') + '\n{"seq":5001,"te');
    const { log, lines: logged } = capturingLogger();
    const events = await openEventLog(options(tmp, log));
    const stats = events.stats();
    expect(stats).toMatchObject({
      persistent: true,
      size: 1000,
      corruptLinesSkipped: 10 + 6 + 1,
      compactions: 1,
    });
    expect(events.events().map((e) => e.seq)).toEqual(valid.slice(-1000));
    expect(events.nextSeq).toBe(5000);
    const onDisk = await fileEvents(tmp);
    expect(onDisk).toHaveLength(1000);
    expect(onDisk.every((e) => typeof e !== 'string')).toBe(true);
    const warned = logged().filter((l) => l.msg === 'skipping corrupt test history line');
    expect(warned).toHaveLength(10); // logged one by one up to 10, then counted only
    expect(warned[0]).toMatchObject({ line: 500 });
    await events.close();
  });

  it('skips a line longer than 1 MiB without holding it', async () => {
    const huge = 'x'.repeat(3 * 1024 * 1024);
    await writeFile(path.join(tmp, FILE), `${JSON.stringify(ev(1))}\n${huge}\n${JSON.stringify(ev(2))}\n`);
    const events = await openEventLog(options(tmp));
    expect(events.events().map((e) => e.seq)).toEqual([1, 2]);
    expect(events.stats().corruptLinesSkipped).toBe(1);
    await events.close();
  });

  it('appends one line per append, compacts past twice the capacity, and survives a reopen', async () => {
    const events = await openEventLog({ ...options(tmp), capacity: 5 });
    for (let i = 1; i <= 11; i++)
      expect(await events.append([ev(events.nextSeq)])).toMatchObject({ persisted: true });
    // Compacted to 5 lines at the 11th.
    expect((await fileEvents(tmp)).map((e) => (e as Ev).seq)).toEqual([7, 8, 9, 10, 11]);
    await events.append([ev(12)]);
    expect((await fileEvents(tmp)).map((e) => (e as Ev).seq)).toEqual([7, 8, 9, 10, 11, 12]);
    await events.close();
    const again = await openEventLog({ ...options(tmp), capacity: 5 });
    expect(again.events().map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(again.nextSeq).toBe(13);
    await again.close();
  });

  it('on a full disk: reports ENOSPC, keeps the events, and a torn write never corrupts the next line', async () => {
    const fs = mountTmpfs('64k');
    mounts.push(fs);
    const dir = path.join(fs.dir, 'data');
    const { log, lines } = capturingLogger();
    const events = await openEventLog(options(dir, log));
    expect(await events.append([ev(1), ev(2)])).toMatchObject({ persisted: true });
    const filler = path.join(fs.dir, 'filler');
    const filled = await fillDisk(filler);
    // One page free: a 12 KB event is written in part, then ENOSPC.
    await truncate(filler, filled - 4096);
    const big = ev(3, 'y'.repeat(12 * 1024));
    const failed = await events.append([big]);
    expect(failed).toMatchObject({ persisted: false, memoryOnly: false });
    expect(failed.error).toContain('ENOSPC');
    expect(events.stats()).toMatchObject({ writeFailures: 1, pendingEvents: 1, size: 3 });
    expect(lines().some((l) => l.level === 50 && String(l.msg).includes('retried'))).toBe(true);
    // The torn part is really on disk after the two good lines.
    const raw = await readFile(path.join(dir, FILE), 'utf8');
    expect(raw.length).toBeGreaterThan(JSON.stringify(ev(1)).length * 2 + 2);
    expect(raw.endsWith('\n')).toBe(false);

    // A crash now: the restarted log skips the torn tail and keeps the acknowledged events.
    const crashed = await openEventLog(options(dir));
    expect(crashed.events().map((e) => e.seq)).toEqual([1, 2]);
    expect(crashed.stats().corruptLinesSkipped).toBe(1);
    await crashed.close();

    // Space again: the retried write starts at the last good line.
    await rm(filler);
    expect(await events.append([ev(4)])).toMatchObject({ persisted: true });
    expect(events.stats().pendingEvents).toBe(0);
    await events.close();
    const after = await fileEvents(dir);
    expect(after.map((e) => (typeof e === 'string' ? e : e.seq))).toEqual([1, 2, 3, 4]);
  });

  it('retries a failed write by itself once there is space again', async () => {
    const fs = mountTmpfs('64k');
    mounts.push(fs);
    const dir = path.join(fs.dir, 'data');
    const events = await openEventLog({ ...options(dir), retryAfterMs: 200 });
    const filler = path.join(fs.dir, 'filler');
    await fillDisk(filler);
    expect(await events.append([ev(1)])).toMatchObject({ persisted: false });
    await rm(filler);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events.stats()).toMatchObject({ pendingEvents: 0, writeFailures: 1 });
    expect((await fileEvents(dir)).map((e) => (e as Ev).seq)).toEqual([1]);
    await events.close();
  });

  it('an unusable --data-dir (read-only mount, or a path under a file) keeps events in memory and says so', async () => {
    const ro = mountTmpfs('64k', ['ro']);
    mounts.push(ro);
    await writeFile(path.join(tmp, 'file'), 'x');
    for (const dir of [path.join(ro.dir, 'data'), path.join(tmp, 'file', 'sub')]) {
      const { log, lines } = capturingLogger();
      const events = await openEventLog(options(dir, log));
      expect(events.stats()).toMatchObject({ persistent: false });
      expect(await events.append([ev(1)])).toEqual({ persisted: false, memoryOnly: true });
      expect(events.events()).toHaveLength(1);
      const error = lines().find((l) => l.level === 50);
      expect(error?.msg).toContain(`cannot use --data-dir ${dir}`);
      expect(error?.msg).toContain('etcd_monitor_history_persistent{history="test"} 0');
      expect(JSON.stringify(error)).not.toMatch(/\n\s+at /);
      await events.close();
    }
  });
});
