import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnTracked, terminate, waitFor } from '../../harness/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('make demo (scripts/demo.ts)', () => {
  it('brings up etcd, the exporter, Prometheus and Alertmanager, prints their URLs, and cleans up on Ctrl-C', async () => {
    const demo = spawnTracked(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: ROOT,
      label: 'demo',
    });
    try {
      const banner = await waitFor(
        () => {
          if (!demo.running) throw new Error(`demo exited early:\n${demo.output()}`);
          return /Alertmanager\s+http:\/\/\S+/.test(demo.output()) && demo.output();
        },
        { what: 'the demo banner', timeoutMs: 90_000, intervalMs: 300 },
      );
      const url = (name: string) => new RegExp(`${name}\\s+(http://\\S+?)/?\\s`).exec(banner)?.[1] as string;
      const tempDir = /removes (\S+)\)/.exec(banner)?.[1] as string;
      expect(existsSync(tempDir)).toBe(true);

      const status = await (await fetch(`${url('cluster status')}`)).json();
      expect(status).toMatchObject({ cluster: 'demo', member_count: 3 });
      expect((await fetch(`${url('Prometheus')}/-/ready`)).status).toBe(200);
      expect((await fetch(`${url('Alertmanager')}/-/ready`)).status).toBe(200);
      // Prometheus loaded the bundled rules and scrapes the exporter.
      const rules = (await (await fetch(`${url('Prometheus')}/api/v1/rules`)).json()) as {
        data: { groups: unknown[] };
      };
      expect(rules.data.groups.length).toBeGreaterThan(0);
      await waitFor(
        async () => {
          const q = await fetch(
            `${url('Prometheus')}/api/v1/query?query=etcd_monitor_cluster_quorum_available`,
          );
          const body = (await q.json()) as { data: { result: { value: [number, string] }[] } };
          return body.data.result[0]?.value[1] === '1';
        },
        { what: 'Prometheus to scrape the exporter', timeoutMs: 30_000, intervalMs: 500 },
      );

      demo.child.kill('SIGINT');
      const exit = await demo.exited;
      expect(exit.code).toBe(0);
      expect(demo.output()).toContain('temporary data removed');
      expect(existsSync(tempDir)).toBe(false);
      expect((await fetch(`${url('exporter')}/health`).catch(() => undefined))?.status).toBeUndefined();
    } finally {
      await terminate(demo, 'SIGINT', 15_000);
    }
  });
});
