import { readFileSync } from 'node:fs';
import path from 'node:path';
import { addAppliedOpSeries, SlotMaker, type ScrapeState, type ValueSlot } from './metric-slots.js';

/**
 * A member's /metrics from a real capture (test/fixtures/etcd-<version>/{leader,follower}-metrics.txt,
 * read by path: harness code never imports test code). The capture is split once into static text and
 * slots; a scrape only computes the slots and joins, so 1,000 members cost a string join each, not a
 * parse. ID slots print the member's own ID where the capture has its member's (etcd_server_id, Local)
 * and its peers' where the capture has the other two (To, From, Remote); value slots: metric-slots.ts.
 */

const FIXTURES = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures');

export type EtcdCaptureVersion = '3.4' | '3.5';

/** Which ID a slot prints: the member's own (0) or one of its peers (1 = first, 2 = the rest in turn). */
interface IdSlot {
  readonly role: 0 | 1 | 2;
}
type Part = string | IdSlot | ValueSlot;
/** Consecutive lines naming the same peer role (0: none); role 2 repeats for every peer after the first. */
interface Block {
  readonly role: 0 | 1 | 2;
  readonly parts: readonly Part[];
}

export interface MetricsTemplate {
  readonly blocks: readonly Block[];
  /** etcd's version as its Status answers it, e.g. 3.4.23. */
  readonly version: string;
  /** Raft index and revision of the captured leader's Status: where a simulated cluster starts. */
  readonly raftIndex: number;
  readonly revision: number;
  /** The captured /health and /version bodies, byte for byte. */
  readonly healthBody: string;
  readonly versionBody: string;
}

const read = (version: EtcdCaptureVersion, file: string): string =>
  readFileSync(path.join(FIXTURES, `etcd-${version}`, file), 'utf8');
const hex = (decimal: string): string => BigInt(decimal).toString(16);

interface CapturedStatus {
  readonly header: { readonly revision: string };
  readonly leader: string;
  readonly raftIndex: string;
}

/** The capture's member IDs in the roles the template gives them: [self, first peer, second peer]. */
function captureRoles(version: EtcdCaptureVersion, text: string, leader: string): string[] {
  const list = JSON.parse(read(version, 'member-list.json')) as { members: { ID: string }[] };
  const self = /^etcd_server_id\{server_id="([0-9a-f]+)"\}/m.exec(text)?.[1];
  if (!self) throw new Error(`etcd-${version} capture has no etcd_server_id`);
  const others = list.members.map((m) => hex(m.ID)).filter((id) => id !== self);
  // A follower's first peer is the leader, as the simulated follower's first peer is its leader.
  others.sort((a, b) => Number(b === leader) - Number(a === leader));
  return [self, ...others];
}

/** Splits one capture (`leader` or `follower`) into blocks of static text and slots. */
export function loadTemplate(version: EtcdCaptureVersion, role: 'leader' | 'follower'): MetricsTemplate {
  const text = read(version, `${role}-metrics.txt`);
  const status = JSON.parse(read(version, 'status-leader.json')) as CapturedStatus;
  const ids = captureRoles(version, text, hex(status.leader));
  const captured = text.split('\n');
  if (captured.at(-1) === '') captured.pop();
  const lines = addAppliedOpSeries(captured);
  const types = new Map<string, string>();
  for (const line of lines) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
  }
  const slots = new SlotMaker(lines, types);
  const idPattern = new RegExp(`"(${ids.join('|')})"`, 'g');
  const blocks: { role: 0 | 1 | 2; parts: Part[] }[] = [];
  for (const line of lines) {
    const parts: Part[] = [];
    let role: 0 | 1 | 2 = 0;
    let body = line;
    let value: ValueSlot | undefined;
    const sample = line.startsWith('#') ? null : /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (sample) {
      value = slots.slot(sample[1]!, sample[2] ?? '', sample[3]!);
      if (value) body = line.slice(0, line.length - sample[3]!.length);
    }
    let last = 0;
    for (const m of body.matchAll(idPattern)) {
      const r = ids.indexOf(m[1]!) as 0 | 1 | 2;
      if (r > 0) role = r;
      parts.push(body.slice(last, m.index + 1), { role: r });
      last = m.index + 1 + m[1]!.length;
    }
    parts.push(body.slice(last));
    if (value) parts.push(value);
    parts.push('\n');
    const block = blocks.at(-1);
    if (block?.role === role) block.parts.push(...parts);
    else blocks.push({ role, parts });
  }
  const versionBody = read(version, 'version.json');
  return {
    blocks: blocks.map((b) => ({ role: b.role, parts: mergeStrings(b.parts) })),
    version: (JSON.parse(versionBody) as { etcdserver: string }).etcdserver,
    raftIndex: Number(status.raftIndex),
    revision: Number(status.header.revision),
    healthBody: read(version, 'health.json'),
    versionBody,
  };
}

/** Adjacent static strings as one: a scrape then joins a few hundred pieces, not every line's. */
function mergeStrings(parts: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p === 'string' && typeof out.at(-1) === 'string') out[out.length - 1] += p;
    else out.push(p);
  }
  return out;
}

/** One scrape of a member whose IDs are `ids` = [own, peers...] (hex), in state `state`. */
export function renderMetrics(template: MetricsTemplate, ids: readonly string[], state: ScrapeState): string {
  const out: string[] = [];
  const put = (parts: readonly Part[], peer: string): void => {
    for (const p of parts) {
      if (typeof p === 'string') out.push(p);
      else if (typeof p === 'function') out.push(String(p(state)));
      else out.push(p.role === 0 ? ids[0]! : peer);
    }
  };
  for (const block of template.blocks) {
    if (block.role === 0) put(block.parts, '');
    else if (block.role === 1) {
      if (ids.length > 1) put(block.parts, ids[1]!);
    } else for (let i = 2; i < ids.length; i++) put(block.parts, ids[i]!);
  }
  return out.join('');
}
