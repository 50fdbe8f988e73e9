import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, ExpositionCache, metricsBody, shareRecent } from '../../src/expose/exposition-cache.js';

const block = Array.from(
  { length: 5000 },
  (_, i) => `etcd_x{cluster="c",member="m${i % 3}",le="${i}"} ${i}\n`,
).join('');
const own = '# HELP etcd_monitor_up Up.\n# TYPE etcd_monitor_up gauge\netcd_monitor_up 1\n';

describe('exposition cache', () => {
  it('serves the cached block plus the own part, identical plain and gzipped', async () => {
    const cache = new ExpositionCache();
    cache.update(block);
    const plain = await metricsBody(own, [cache.get()], false);
    expect(plain.encoding).toBeUndefined();
    expect(Buffer.concat(plain.chunks).toString()).toBe(block + own);
    expect(plain.length).toBe(Buffer.byteLength(block + own));

    const gz = await metricsBody(own, [cache.get()], true);
    const body = Buffer.concat(gz.chunks);
    expect(gz.encoding).toBe('gzip');
    expect(body.length).toBe(gz.length);
    expect(body.length).toBeLessThan(Buffer.byteLength(block) / 5);
    expect(gunzipSync(body).toString()).toBe(block + own);
    // One gzip member, so decoders that stop after the first member (curl, browsers) still see everything.
    expect(execFileSync('gzip', ['-dc'], { input: body }).toString()).toBe(block + own);
  });

  it('joins several cached blocks and the per-scrape part into one gzip member', async () => {
    const first = new ExpositionCache();
    const second = new ExpositionCache();
    const derived =
      '# HELP etcd_monitor_cluster_up Up.\n# TYPE etcd_monitor_cluster_up gauge\netcd_monitor_cluster_up{cluster="c"} 1\n';
    first.update(block);
    second.update(derived);
    const gz = await metricsBody(own, [first.get(), second.get()], true);
    expect(gunzipSync(Buffer.concat(gz.chunks)).toString()).toBe(block + derived + own);
    // A new second block changes the checksum: the cached chain is recomputed, not reused.
    second.update(derived.replace('} 1', '} 0'));
    const again = await metricsBody(own, [first.get(), second.get()], true);
    expect(gunzipSync(Buffer.concat(again.chunks)).toString()).toBe(
      block + derived.replace('} 1', '} 0') + own,
    );
    const plain = await metricsBody(own, [first.get(), second.get()], false);
    expect(Buffer.concat(plain.chunks).toString()).toBe(block + derived.replace('} 1', '} 0') + own);
  });

  it('is a valid empty gzip body before the first round and keeps the newest update', async () => {
    const cache = new ExpositionCache();
    expect(gunzipSync(Buffer.concat((await metricsBody(own, [cache.get()], true)).chunks)).toString()).toBe(
      own,
    );
    cache.update('a 1\n');
    cache.update('b 2\n');
    expect(cache.get().plain.toString()).toBe('b 2\n');
  });

  it('compresses a block once, on the first gzip request, and shares it between concurrent requests', async () => {
    const cache = new ExpositionCache();
    cache.update(block);
    const [a, b] = await Promise.all([
      metricsBody(own, [cache.get()], true),
      metricsBody(own, [cache.get()], true),
    ]);
    // Chunk 1 is the block's deflate data: the very same Buffer in both bodies.
    expect(a.chunks[1]).toBe(b.chunks[1]);
    expect((await metricsBody(own, [cache.get()], true)).chunks[1]).toBe(a.chunks[1]);
    // A new block gets its own compression.
    cache.update(block.replace('le="1"', 'le="one"'));
    const c = await metricsBody(own, [cache.get()], true);
    expect(c.chunks[1]).not.toBe(a.chunks[1]);
    expect(gunzipSync(Buffer.concat(c.chunks)).toString()).toBe(block.replace('le="1"', 'le="one"') + own);
  });

  it('reads Accept-Encoding like Prometheus and browsers send it', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('identity, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('deflate')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it('shares one render between calls within the max age, renders again after it, drops failures', async () => {
    let renders = 0;
    let fail = false;
    const shared = shareRecent(async () => {
      renders++;
      if (fail) throw new Error('render failed');
      return renders;
    }, 150);
    expect(await Promise.all([shared(), shared(), shared()])).toEqual([1, 1, 1]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await shared()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    fail = true;
    await expect(shared()).rejects.toThrow('render failed');
    fail = false;
    expect(await shared()).toBe(4);
  });
});
