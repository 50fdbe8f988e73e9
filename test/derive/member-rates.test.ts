import { describe, expect, it } from 'vitest';
import { bucketDelta, bucketsOf, quantile } from '../../src/derive/histogram.js';
import { deriveMemberRates, type TimedMetrics } from '../../src/derive/member-rates.js';
import {
  capturedAt,
  ETCD_FIXTURE_VERSIONS,
  fixtureMetrics,
  fixtureText,
  type EtcdFixtureVersion,
} from '../etcd/fixtures.js';

/**
 * Read off each version's files (never carried over from the other version): the WAL fsync p99 between
 * load/leader-metrics-0.txt and -1.txt, and the stream gauges of the top-level captures.
 */
const CAPTURED: Record<
  EtcdFixtureVersion,
  {
    readonly loadWalFsyncP99: number;
    readonly streams: Record<'follower-metrics.txt' | 'leader-metrics.txt', Record<string, number>>;
  }
> = {
  '3.4': {
    // 3558 new fsyncs; rank 0.99·3558 lies in (0.004, 0.008] holding 40 above the 3504 below it.
    loadWalFsyncP99: 0.004 + 0.004 * ((0.99 * 3558 - 3504) / 40),
    // Captured with one prefix watch open on the follower; the lease's only keep-alive stream on the
    // leader had already ended.
    streams: {
      'follower-metrics.txt': { watchStreams: 1, leaseStreams: 0, watchers: 1 },
      'leader-metrics.txt': { watchStreams: 0, leaseStreams: 0, watchers: 0 },
    },
  },
  '3.5': {
    // 2083 new fsyncs; rank 0.99·2083 lies in (0.008, 0.016] holding 45 above the 2028 below it.
    loadWalFsyncP99: 0.008 + 0.008 * ((0.99 * 2083 - 2028) / 45),
    // The capture's client opened its prefix watch on the third member, which has no /metrics capture:
    // Watch started 0 on both captured members; the leader's one keep-alive stream had ended (started 1,
    // handled 1).
    streams: {
      'follower-metrics.txt': { watchStreams: 0, leaseStreams: 0, watchers: 0 },
      'leader-metrics.txt': { watchStreams: 0, leaseStreams: 0, watchers: 0 },
    },
  },
};

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const timed = (file: string): TimedMetrics => ({
    at: capturedAt(file, version),
    metrics: fixtureMetrics(file, version),
  });

  /**
   * Sum of the sample lines of `name` in a capture whose text contains every fragment — read straight
   * from the file with a regular expression, independently of the parser under test.
   */
  function grepSum(file: string, name: string, ...fragments: string[]): number {
    let total = 0;
    let found = false;
    for (const line of fixtureText(file, version).split('\n')) {
      const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
      if (!m || !fragments.every((f) => (m[1] ?? '').includes(f))) continue;
      total += Number(m[2]);
      found = true;
    }
    if (!found) throw new Error(`${file} has no ${name} ${fragments.join(' ')}`);
    return total;
  }

  const perSecond = (name: string, before: string, after: string, ...fragments: string[]) =>
    (grepSum(after, name, ...fragments) - grepSum(before, name, ...fragments)) /
    ((capturedAt(after, version) - capturedAt(before, version)) / 1000);

  describe('deriveMemberRates on two scrapes of the leader under load', () => {
    const before = 'load/leader-metrics-0.txt';
    const after = 'load/leader-metrics-1.txt';
    const rates = deriveMemberRates(timed(before), timed(after));

    it.each([
      ['cpuSecondsPerSecond', 'process_cpu_seconds_total', []],
      ['peerSentBytesPerSecond', 'etcd_network_peer_sent_bytes_total', []],
      ['peerReceivedBytesPerSecond', 'etcd_network_peer_received_bytes_total', []],
      ['clientSentBytesPerSecond', 'etcd_network_client_grpc_sent_bytes_total', []],
      ['clientReceivedBytesPerSecond', 'etcd_network_client_grpc_received_bytes_total', []],
      ['requestsPerSecond', 'grpc_server_started_total', ['grpc_type="unary"']],
      ['proposalsCommittedPerSecond', 'etcd_server_proposals_committed_total', []],
      ['proposalsAppliedPerSecond', 'etcd_server_proposals_applied_total', []],
    ] as const)('%s = Δ%s / Δt', (field, family, fragments) => {
      const expected = perSecond(family, before, after, ...fragments);
      expect(expected).toBeGreaterThan(0);
      expect(rates[field]).toBeCloseTo(expected, 9);
    });

    it('levels come from the newer scrape', () => {
      expect(rates.residentMemoryBytes).toBe(grepSum(after, 'process_resident_memory_bytes'));
      expect(rates.openFds).toBe(grepSum(after, 'process_open_fds'));
      expect(rates.maxFds).toBe(grepSum(after, 'process_max_fds'));
      expect(rates.quotaBytes).toBe(2 * 1024 ** 3);
      expect(rates.proposalsPending).toBe(grepSum(after, 'etcd_server_proposals_pending'));
      expect(rates.leaderChangesSeen).toBe(1);
    });

    it('no request failed under this load and no proposal failed', () => {
      expect(rates.requestErrorsPerSecond).toBe(0);
      expect(rates.proposalsFailedPerSecond).toBe(0);
    });

    it('p99 latencies are taken over the observations between the scrapes', () => {
      const delta = (family: string) =>
        quantile(
          0.99,
          bucketDelta(
            bucketsOf(fixtureMetrics(before, version), family),
            bucketsOf(fixtureMetrics(after, version), family),
          ),
        );
      expect(rates.walFsyncP99Seconds).toBeCloseTo(CAPTURED[version].loadWalFsyncP99, 12);
      expect(rates.backendCommitP99Seconds).toBe(delta('etcd_disk_backend_commit_duration_seconds'));
      expect(rates.backendCommitP99Seconds).toBeGreaterThan(0);
    });

    it('peer round trip: absent while etcd has made no new round-trip observation', () => {
      // etcd observes peer round trips only every 30 s: scrape 0 has no such series yet, and between
      // scrapes 1 and 2 (6 s apart) no observation was added. Neither pair yields a p99.
      expect(rates.peerRoundTripP99Seconds).toBeUndefined();
      const later = deriveMemberRates(timed('load/leader-metrics-1.txt'), timed('load/leader-metrics-2.txt'));
      expect(later.peerRoundTripP99Seconds).toBeUndefined();
    });

    it('peer round trip is the worst per-peer p99', () => {
      const family = 'etcd_network_peer_round_trip_time_seconds';
      const current = timed('load/leader-metrics-1.txt');
      const peers = [...new Set(current.metrics.get(family)?.samples.map((s) => s.labels['To']))] as string[];
      expect(peers).toHaveLength(2);
      // Transformation: scrape 1 with the round-trip counts of every peer but `fresh` kept and those of
      // `fresh` zeroed, as the previous scrape — so exactly that peer's two observations are new.
      const zeroedFor = (fresh: string): TimedMetrics => {
        const metrics = new Map(current.metrics);
        const rtt = current.metrics.get(family);
        if (!rtt) throw new Error('no round-trip family');
        metrics.set(family, {
          ...rtt,
          samples: rtt.samples.map((s) => (s.labels['To'] === fresh ? { ...s, value: 0 } : s)),
        });
        return { at: current.at - 10_000, metrics };
      };
      const p99Of = (peer: string) =>
        quantile(
          0.99,
          bucketsOf(current.metrics, family, (l) => l['To'] === peer),
        );
      for (const peer of peers) {
        expect(deriveMemberRates(zeroedFor(peer), current).peerRoundTripP99Seconds).toBe(p99Of(peer));
      }
      const [a, b] = peers as [string, string];
      expect(p99Of(a)).not.toBe(p99Of(b));
    });
  });

  describe('deriveMemberRates: request errors on a member refusing puts (NOSPACE)', () => {
    it('counts the 20 ResourceExhausted puts between the scrapes as failures', () => {
      const before = 'nospace/metrics-0.txt';
      const after = 'nospace/metrics-1.txt';
      const rates = deriveMemberRates(timed(before), timed(after));
      const seconds = (capturedAt(after, version) - capturedAt(before, version)) / 1000;
      expect(grepSum(after, 'grpc_server_handled_total', 'grpc_code="ResourceExhausted"')).toBe(20);
      expect(rates.requestErrorsPerSecond).toBeCloseTo(20 / seconds, 9);
      expect(rates.requestsPerSecond).toBeCloseTo(
        perSecond('grpc_server_started_total', before, after, 'unary'),
        9,
      );
    });
  });

  describe('deriveMemberRates: watch and lease streams', () => {
    it.each(['follower-metrics.txt', 'leader-metrics.txt'] as const)('%s', (file) => {
      const expected = CAPTURED[version].streams[file];
      const rates = deriveMemberRates(undefined, { at: 0, metrics: fixtureMetrics(file, version) });
      expect({
        watchStreams: rates.watchStreams,
        leaseStreams: rates.leaseStreams,
        watchers: rates.watchers,
      }).toEqual(expected);
    });
  });

  describe('deriveMemberRates without a usable previous scrape', () => {
    const RATE_FIELDS = [
      'cpuSecondsPerSecond',
      'peerSentBytesPerSecond',
      'requestsPerSecond',
      'requestErrorsPerSecond',
      'proposalsCommittedPerSecond',
      'walFsyncP99Seconds',
      'backendCommitP99Seconds',
      'peerRoundTripP99Seconds',
    ] as const;

    it.each([
      ['first scrape', undefined, timed('load/follower-metrics-0.txt')],
      // process_start_time_seconds changed; without that check the error counters (0 before, 0 after)
      // gave a rate of 0 across the outage.
      [
        'across a restart',
        timed('load/follower-metrics-2.txt'),
        timed('load/follower-metrics-after-restart.txt'),
      ],
    ])('%s: no rates or p99s, levels still present', (_, previous, current) => {
      const rates = deriveMemberRates(previous, current);
      for (const field of RATE_FIELDS) expect(rates[field], field).toBeUndefined();
      expect(rates.residentMemoryBytes).toBeGreaterThan(0);
      expect(rates.openFds).toBeGreaterThan(0);
      expect(rates.quotaBytes).toBe(2 * 1024 ** 3);
    });

    it('two scrapes with the same timestamp give no rates (the histogram delta needs no time)', () => {
      // Transformation: scrape 1 stamped with the time of scrape 0.
      const previous = timed('load/follower-metrics-0.txt');
      const rates = deriveMemberRates(previous, { ...timed('load/follower-metrics-1.txt'), at: previous.at });
      expect(rates.cpuSecondsPerSecond).toBeUndefined();
      expect(rates.requestsPerSecond).toBeUndefined();
      expect(rates.walFsyncP99Seconds).toBeGreaterThan(0);
    });
  });
});
