import { createHash } from 'node:crypto';
import { ConfigError } from '../util/errors.js';
import type { ClusterConfig } from './types.js';

// Sharding across replicas the way Prometheus shards scrape targets: each configured cluster goes to the
// one replica whose index equals hashmod(cluster name, replica count). Nothing is coordinated between
// replicas; they agree because they read the same config and compute the same hash. Restarts and
// rebalancing (a changed replica count) are the StatefulSet's rollout.

/** Which replica this is among how many; { index: 0, count: 1 } when not sharded. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const NO_SHARDING: Shard = Object.freeze({ index: 0, count: 1 });

/**
 * Prometheus' relabel action `hashmod` (model/relabel/relabel.go): md5 of the value, the last 8 of its 16
 * bytes read as a big-endian uint64, modulo `modulus`. A relabel rule with `source_labels: [cluster]`,
 * `modulus: <count>`, `action: hashmod` therefore puts a cluster in the same shard as the exporter does.
 */
export function hashmod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}

/**
 * A StatefulSet pod's ordinal: its name (and hostname) is `<statefulset>-<ordinal>`. Undefined when the
 * hostname does not end in `-<digits>`.
 */
export function ordinalOf(hostname: string | undefined): number | undefined {
  const match = /-(0|[1-9][0-9]*)$/.exec(hostname?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * The shard of this replica from --shard-count and --shard-index (undefined when not given), defaulting the
 * index to the ordinal in `hostname`. `indexWhere` names where a given index came from, for the error.
 */
export function resolveShard(
  count: number,
  index: number | undefined,
  hostname: string | undefined,
  indexWhere: string,
): Shard {
  if (index === undefined) {
    if (count === 1) return NO_SHARDING;
    const ordinal = ordinalOf(hostname);
    if (ordinal === undefined) {
      throw new ConfigError(
        '--shard-index',
        `not given, and $HOSTNAME ${JSON.stringify(hostname ?? '')} has no StatefulSet ordinal (-<n> at its end) to default to`,
      );
    }
    if (ordinal >= count) {
      throw new ConfigError(
        '--shard-index',
        `the ordinal ${ordinal} of $HOSTNAME ${JSON.stringify(hostname)} must be below --shard-count ${count} (replicas and --shard-count disagree)`,
      );
    }
    return Object.freeze({ index: ordinal, count });
  }
  if (index >= count) throw new ConfigError(indexWhere, `must be below --shard-count ${count}, got ${index}`);
  return Object.freeze({ index, count });
}

/** The clusters this shard watches: those whose name hashes to its index (all of them when not sharded). */
export function clustersOfShard(clusters: readonly ClusterConfig[], shard: Shard): readonly ClusterConfig[] {
  if (shard.count === 1) return clusters;
  return Object.freeze(clusters.filter((c) => hashmod(c.name, shard.count) === shard.index));
}
