import { describe, expect, it } from 'vitest';
import { carryPeerRoundTrip, PEER_RTT_HOLD_MS } from '../../src/derive/derive-cluster.js';

describe('carryPeerRoundTrip', () => {
  const seen = { rates: { peerRoundTripP99Seconds: 0.0004 }, peerRttAt: 1_000 };

  it.each([
    [
      'a fresh observation replaces the old one',
      seen,
      { peerRoundTripP99Seconds: 0.002 },
      11_000,
      { rates: { peerRoundTripP99Seconds: 0.002 }, peerRttAt: 11_000 },
    ],
    [
      'no new observation: the last value is held',
      seen,
      {},
      11_000,
      { rates: { peerRoundTripP99Seconds: 0.0004 }, peerRttAt: 1_000 },
    ],
    ['held value expires after the hold time', seen, {}, 1_000 + PEER_RTT_HOLD_MS + 1, { rates: {} }],
    ['nothing known yet', undefined, {}, 11_000, { rates: {} }],
  ])('%s', (_name, known, rates, at, expected) => {
    expect(carryPeerRoundTrip(known, rates, at)).toEqual(expected);
  });

  it('keeps the other rates of the round untouched', () => {
    expect(carryPeerRoundTrip(seen, { requestsPerSecond: 12 }, 5_000).rates).toEqual({
      requestsPerSecond: 12,
      peerRoundTripP99Seconds: 0.0004,
    });
  });
});
