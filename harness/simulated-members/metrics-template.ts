import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A member's /metrics from a real capture (test/fixtures/etcd-<version>/{leader,follower}-metrics.txt,
 * read by path: harness code never imports test code). The capture is split once into static text and
 * slots; a scrape only formats the slots, so 1,000 members cost a string join each, not a parse.
 *
 * Slots: the capture's three member IDs (etcd_server_id, the peer series' To/From/Local/Remote labels)
 * become this member's own ID and its peers', and counters and histograms advance with the time since the
 * member's metrics epoch. Every value is a pure function of that time, so two scrapes are monotonic and each
 * histogram stays consistent: observations land in one bucket (the first whose bound holds the capture's
 * mean), every cumulative bucket at or above it, +Inf and _count grow by the same number, and _sum by that
 * number times the mean. Counters that mean trouble (failures, slow applies, leader changes, non-OK gRPC
 * codes) stay at their captured value: a simulated member is a healthy one.
 */

const FIXTURES = path.resolve(import.meta.dirname, '..', '..', 'test', 'fixtures');
/** The capture is treated as this many seconds of traffic: a counter's rate is its value over this. */
const CAPTURE_AGE_SECONDS = 60;
const TROUBLE = /fail|error|slow|leader_changes|drop|corrupt|reject|lost|timeout|heartbeat_send/;

export type EtcdCaptureVersion = '3.4' | '3.5';

/** Which ID a slot prints: the member's own (0) or one of its peers (1 = first, 2 = the rest in turn). */
interface IdSlot {
  readonly role: 0 | 1 | 2;
}
/** value = base + mult × floor(rate × t), or base + rate × t for a non-integral counter (`smooth`). */
interface ValueSlot {
  readonly base: number;
  readonly rate: number;
  readonly mult: number;
  readonly smooth: boolean;
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
  /** The captured /health and /version bodies, byte for byte. */
  readonly healthBody: string;
  readonly versionBody: string;
}

const read = (version: EtcdCaptureVersion, file: string): string =>
  readFileSync(path.join(FIXTURES, `etcd-${version}`, file), 'utf8');
const hex = (decimal: string): string => BigInt(decimal).toString(16);

/** The capture's member IDs in the roles the template gives them: [self, first peer, second peer]. */
function captureRoles(version: EtcdCaptureVersion, text: string): string[] {
  const list = JSON.parse(read(version, 'member-list.json')) as { members: { ID: string }[] };
  const leader = hex((JSON.parse(read(version, 'status-leader.json')) as { leader: string }).leader);
  const self = /^etcd_server_id\{server_id="([0-9a-f]+)"\}/m.exec(text)?.[1];
  if (!self) throw new Error(`etcd-${version} capture has no etcd_server_id`);
  const others = list.members.map((m) => hex(m.ID)).filter((id) => id !== self);
  // A follower's first peer is the leader, as the simulated follower's first peer is its leader.
  others.sort((a, b) => Number(b === leader) - Number(a === leader));
  return [self, ...others];
}

interface Histogram {
  readonly rate: number;
  readonly mean: number;
  readonly bucket: number;
}

/** Observations per second, mean and the bucket bound new observations land in, per histogram series. */
function histograms(lines: readonly string[], types: ReadonlyMap<string, string>): Map<string, Histogram> {
  const count = new Map<string, number>();
  const sum = new Map<string, number>();
  const bounds = new Map<string, number[]>();
  for (const line of lines) {
    const m = /^([a-zA-Z_:][\w:]*)(_bucket|_sum|_count)(\{.*\})? (\S+)$/.exec(line);
    if (!m || types.get(m[1]!) !== 'histogram') continue;
    const key = m[1]! + (m[3] ?? '').replace(/,?le="[^"]*"/, '').replace('{,', '{');
    if (m[2] === '_count') count.set(key, Number(m[4]));
    else if (m[2] === '_sum') sum.set(key, Number(m[4]));
    else bounds.set(key, [...(bounds.get(key) ?? []), Number(/le="([^"]+)"/.exec(m[3] ?? '')?.[1])]);
  }
  const out = new Map<string, Histogram>();
  for (const [key, n] of count) {
    if (!(n > 0)) continue;
    const mean = (sum.get(key) ?? 0) / n;
    const bucket = (bounds.get(key) ?? []).find((le) => le >= mean) ?? Number.POSITIVE_INFINITY;
    out.set(key, { rate: Math.max(1, Math.round(n / CAPTURE_AGE_SECONDS)), mean, bucket });
  }
  return out;
}

function valueSlot(
  name: string,
  labels: string,
  value: string,
  types: ReadonlyMap<string, string>,
  hists: ReadonlyMap<string, Histogram>,
): Part {
  const base = Number(value);
  const hm = /^(.*)(_bucket|_sum|_count)$/.exec(name);
  if (hm && types.get(hm[1]!) === 'histogram') {
    const h = hists.get(hm[1]! + labels.replace(/,?le="[^"]*"/, '').replace('{,', '{'));
    if (!h || TROUBLE.test(name)) return value;
    if (hm[2] === '_sum') return { base, rate: h.rate, mult: h.mean, smooth: false };
    const le = hm[2] === '_bucket' ? Number(/le="([^"]+)"/.exec(labels)?.[1]) : Number.POSITIVE_INFINITY;
    return le >= h.bucket ? { base, rate: h.rate, mult: 1, smooth: false } : value;
  }
  if (types.get(name) !== 'counter' || !(base > 0) || TROUBLE.test(name)) return value;
  if (/grpc_code="/.test(labels) && !labels.includes('grpc_code="OK"')) return value;
  if (Number.isInteger(base)) {
    return { base, rate: Math.max(1, Math.round(base / CAPTURE_AGE_SECONDS)), mult: 1, smooth: false };
  }
  return { base, rate: base / CAPTURE_AGE_SECONDS, mult: 1, smooth: true };
}

/** Splits one capture (`leader` or `follower`) into blocks of static text and slots. */
export function loadTemplate(version: EtcdCaptureVersion, role: 'leader' | 'follower'): MetricsTemplate {
  const text = read(version, `${role}-metrics.txt`);
  const ids = captureRoles(version, text);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const types = new Map<string, string>();
  for (const line of lines) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
  }
  const hists = histograms(lines, types);
  const idPattern = new RegExp(`"(${ids.join('|')})"`, 'g');
  const blocks: { role: 0 | 1 | 2; parts: Part[] }[] = [];
  for (const line of lines) {
    const parts: Part[] = [];
    let role: 0 | 1 | 2 = 0;
    let body = line;
    let value: Part | undefined;
    const sample = line.startsWith('#') ? null : /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (sample) {
      body = line.slice(0, line.length - sample[3]!.length);
      value = valueSlot(sample[1]!, sample[2] ?? '', sample[3]!, types, hists);
    }
    let last = 0;
    for (const m of body.matchAll(idPattern)) {
      const r = ids.indexOf(m[1]!) as 0 | 1 | 2;
      if (r > 0) role = r;
      parts.push(body.slice(last, m.index + 1), { role: r });
      last = m.index + 1 + m[1]!.length;
    }
    parts.push(body.slice(last));
    if (value !== undefined) parts.push(value);
    parts.push('\n');
    const block = blocks.at(-1);
    if (block?.role === role) block.parts.push(...parts);
    else blocks.push({ role, parts });
  }
  // Adjacent static strings merged: a scrape then joins a few thousand pieces, not every line's.
  const merged = blocks.map((b) => ({
    role: b.role,
    parts: b.parts.reduce<Part[]>((acc, p) => {
      if (typeof p === 'string' && typeof acc.at(-1) === 'string') acc[acc.length - 1] += p;
      else acc.push(p);
      return acc;
    }, []),
  }));
  const versionBody = read(version, 'version.json');
  return {
    blocks: merged,
    version: (JSON.parse(versionBody) as { etcdserver: string }).etcdserver,
    healthBody: read(version, 'health.json'),
    versionBody,
  };
}

/** The member's /metrics `t` seconds after its metrics epoch, with `ids` = [own, peers...] in hex. */
export function renderMetrics(template: MetricsTemplate, ids: readonly string[], t: number): string {
  const out: string[] = [];
  const put = (parts: readonly Part[], peer: string): void => {
    for (const p of parts) {
      if (typeof p === 'string') out.push(p);
      else if ('role' in p) out.push(p.role === 0 ? ids[0]! : peer);
      else out.push(String(p.smooth ? p.base + p.rate * t : p.base + p.mult * Math.floor(p.rate * t)));
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
