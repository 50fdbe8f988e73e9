import type { BenchmarkResult } from './result.js';

const f1 = (n: number): string => n.toFixed(1);
const ms = (n: number): string => `${n.toFixed(3)} ms`;

/**
 * The text report: the "=== Benchmark Results ===" block (counts, throughput, latency percentiles), then the
 * conditions the numbers hold for and the SLO verdict. `--output json` prints the BenchmarkResult instead.
 */
export function formatResult(r: BenchmarkResult): string {
  const c = r.conditions;
  const lines = [
    '=== Benchmark Results ===',
    `Type:           ${r.type}${r.profile ? ` (profile ${r.profile})` : ''}`,
    `Duration:       ${r.durationSeconds.toFixed(2)} s`,
    `Total:          ${r.total}`,
    `Successful:     ${r.successful}`,
    `Failed:         ${r.failed}`,
    `Throughput:     ${f1(r.throughput)} ops/sec`,
    'Latency:',
    `  Average:      ${ms(r.latency.avgMs)}`,
    `  P50:          ${ms(r.latency.p50Ms)}`,
    `  P95:          ${ms(r.latency.p95Ms)}`,
    `  P99:          ${ms(r.latency.p99Ms)}`,
    `  Min:          ${ms(r.latency.minMs)}`,
    `  Max:          ${ms(r.latency.maxMs)}`,
  ];
  for (const [op, o] of Object.entries(r.operations)) {
    if (!o || r.type !== 'mixed') continue;
    lines.push(
      `${op === 'read' ? 'Reads' : 'Writes'}:  ${o.successful} ok, ${o.failed} failed, ${f1(o.throughput)} ops/sec, P50 ${ms(o.latency.p50Ms)}, P99 ${ms(o.latency.p99Ms)}`,
    );
  }
  if (r.failed > 0) {
    lines.push(
      `Errors:         ${Object.entries(r.errorsByCode)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    if (r.lastError) lines.push(`Last error:     ${r.lastError}`);
  }
  // Results stored before members were left out have no such field.
  for (const m of r.membersLeftOut ?? [])
    lines.push(
      `Left out:       ${m.name ? `${m.name} ` : ''}${m.endpoint} — ${m.code}: ${m.error} (down before the run; the load went to the other members)`,
    );
  lines.push(
    '',
    'Conditions:',
    `  ${c.clients} clients over ${c.conns} connections to ${c.endpoints.length} endpoint(s) (${c.endpoints.join(', ')}), ${c.tls ? 'TLS' : 'plaintext'}, client path ${c.client}`,
    `  ${c.keySize}-byte keys${c.prefix ? ` under ${JSON.stringify(c.prefix)}` : ''}, ${c.valSize}-byte values, key space ${c.keySpace}${r.type !== 'read' ? (c.sequentialKeys ? ', sequential writes' : ', random writes') : ''}`,
    `  ${r.type === 'write' ? '' : `${c.consistency === 's' ? 'serializable' : 'linearizable'} reads, `}${r.type === 'mixed' ? `${Math.round(c.readRatio * 100)}% reads, ` : ''}${c.loop} loop${c.rate ? ` at ${c.rate} ops/s` : ''}; retries off`,
    `  etcd ${c.etcdVersion ?? 'version unknown'}; client ${c.clientCores} cores, ${f1(r.clientCpu.microsPerOp)} µs CPU per op, event-loop utilization ${r.clientCpu.eventLoopUtilization.toFixed(2)}`,
    '',
    `Verdict ${r.slo.verdict ?? 'design-targets'} (${typeof r.slo.targets === 'string' ? r.slo.targets : `reads ${r.slo.targets.readOpsPerSec}/s, writes ${r.slo.targets.writeOpsPerSec}/s, P99 < ${r.slo.targets.p99Ms} ms`}): ${r.slo.passed ? 'PASS' : 'FAIL'}`,
  );
  for (const ch of r.slo.checks) {
    const actual = Number.isInteger(ch.actual) ? String(ch.actual) : ch.actual.toFixed(3);
    lines.push(`  ${ch.passed ? 'ok  ' : 'FAIL'} ${ch.name}: ${actual} (target ${ch.target})`);
  }
  lines.push('', formatCleanup(r.cleanup));
  return `${lines.join('\n')}\n`;
}

/** One line on what the run left behind: nothing under its prefix; history only without --compact. */
export function formatCleanup(c: BenchmarkResult['cleanup']): string {
  const deleted = `Cleanup: deleted the run's ${c.deletedKeys} keys under ${JSON.stringify(c.prefix)} at revision ${c.deleteRevision}`;
  return c.compactedRevision === null
    ? `${deleted}; no compaction (every key's history kept)`
    : `${deleted}; compacted the whole cluster at revision ${c.compactedRevision} (--compact: compaction is cluster-wide, every key's older revisions are gone)`;
}
