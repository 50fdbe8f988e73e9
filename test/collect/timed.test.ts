import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { timed } from '../../src/collect/timed.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import { freePort } from '../../harness/free-port.js';

const ctx = { endpoint: 'http://127.0.0.1:2379', what: 'status' };

describe('timed(): every failed collector result carries a stable code', () => {
  it('the hard limit is a REQUEST_TIMEOUT', async () => {
    const result = await timed(50, () => new Promise(() => {}), ctx);
    expect(result).toMatchObject({ ok: false, code: 'REQUEST_TIMEOUT' });
  });

  it('a raw Node error that escaped a client is classified here (ECONNREFUSED)', async () => {
    const port = await freePort();
    const result = await timed(
      5000,
      () =>
        new Promise((resolve, reject) =>
          net.connect(port, '127.0.0.1').on('error', reject).on('connect', resolve),
        ),
      ctx,
    );
    expect(result).toMatchObject({ ok: false, code: 'CONNECTION_REFUSED' });
  });

  it("the project's own errors keep their code (a /metrics body that does not parse)", async () => {
    const result = await timed(5000, async () => parsePromText('etcd_up{ 1\n'), ctx);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.code).toBe('METRICS_PARSE');
  });

  it('a success has no code', async () => {
    const result = await timed(5000, async () => 42, ctx);
    expect(result).toMatchObject({ ok: true, value: 42 });
  });
});
