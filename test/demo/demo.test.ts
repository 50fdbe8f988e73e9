import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnTracked, terminate, waitFor } from '../../harness/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The bound on the printed "try this": the alert (and its resolution) reach the terminal within 90 s. */
const NOTIFY_WITHIN_MS = 90_000;

const get = async (url: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
};

describe('make demo (scripts/demo.ts)', () => {
  it('prints URLs that answer, and its "try this" stop/start delivers the alert and its resolution to the terminal', async () => {
    const demo = spawnTracked(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: ROOT,
      label: 'demo',
    });
    try {
      const banner = await waitFor(
        () => {
          if (!demo.running) throw new Error(`demo exited early:\n${demo.output()}`);
          return /RESOLVED\] notifications are printed here/.test(demo.output()) && demo.output();
        },
        { what: 'the demo banner', timeoutMs: 120_000, intervalMs: 300 },
      );
      const line = (label: string): string => {
        const found = new RegExp(`^ *${label} +(.+)$`, 'm').exec(banner)?.[1];
        if (!found) throw new Error(`no "${label}" line in:\n${banner}`);
        return found;
      };
      const firstUrl = (label: string) => /http:\/\/\S+/.exec(line(label))?.[0] as string;
      const tempDir = /removes (\S+)\)/.exec(banner)?.[1] as string;
      expect(existsSync(tempDir)).toBe(true);

      // Every printed page and API answers 200 with what it is named for.
      const status = await get(firstUrl('status page'));
      expect(status.status).toBe(200);
      expect(status.text).toMatch(/<html/i);
      expect(status.text).toContain('demo');
      const metrics = await get(firstUrl('metrics'));
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('etcd_monitor_cluster_quorum_available{cluster="demo"} 1');
      const clusterStatus = JSON.parse((await get(firstUrl('cluster status'))).text) as unknown;
      expect(clusterStatus).toMatchObject({ cluster: 'demo', member_count: 3 });
      expect((await get(firstUrl('alert history'))).status).toBe(200);
      // Debian's 2.42 has the classic UI only; Debian's 3.x no web UI at all (the API instead): whichever is
      // installed, the printed URL answers with what it is named for.
      const promUrl = firstUrl('Prometheus');
      const prometheus = await get(promUrl);
      expect(prometheus.status).toBe(200);
      if (promUrl.endsWith('/api/v1/rules')) expect(prometheus.text).toContain('EtcdMembersDown');
      else expect(prometheus.text).toContain('Prometheus');
      const alertsUrl = firstUrl('alerts page');
      const alerts = await get(alertsUrl);
      expect(alerts.status).toBe(200);
      // The classic page is rendered on the server and lists the rules it loaded; the new UI is a script.
      if (alertsUrl.endsWith('/classic/alerts')) expect(alerts.text).toContain('EtcdMembersDown');
      else if (alertsUrl.endsWith('/api/v1/alerts')) expect(alerts.text).toContain('"status":"success"');
      else expect(alerts.text).toMatch(/<html/i);
      const amApi = await get(firstUrl('Alertmanager API'));
      expect(amApi.status).toBe(200);
      expect(Array.isArray(JSON.parse(amApi.text))).toBe(true);
      // The printed etcd client URLs are no pages: each member answers /health.
      const members = [...banner.matchAll(/demo-\d (http:\/\/\S+) \(pid \d+\)/g)].map((m) => m[1] as string);
      expect(members).toHaveLength(3);
      for (const url of members) expect((await get(`${url}/health`)).status).toBe(200);
      // The "try this", run exactly as printed.
      const stopCommand = /^ {2}(kill \d+)$/m.exec(banner)?.[1] as string;
      const startCommand = /^ {2}(curl -X POST \S+)$/m.exec(banner)?.[1] as string;
      expect(stopCommand).toBeDefined();
      expect(startCommand).toBeDefined();
      const stoppedAt = Date.now();
      execFileSync('bash', ['-c', stopCommand]);
      // The timeline the banner promises: the status, then Prometheus, then the terminal.
      const follower = /stops etcd member (\S+) /.exec(banner)?.[1] as string;
      await waitFor(
        async () =>
          demo.output().includes(`etcd member ${follower} stopped`) &&
          (JSON.parse((await get(firstUrl('cluster status'))).text) as { members_healthy: number })
            .members_healthy === 2,
        { what: `the status to show ${follower} down`, timeoutMs: 15_000, intervalMs: 250 },
      );
      const statusMs = Date.now() - stoppedAt;
      await waitFor(
        async () =>
          (await get(`${/http:\/\/[^/]+/.exec(promUrl)?.[0]}/api/v1/alerts`)).text.includes(
            '"alertname":"EtcdMembersDown"',
          ),
        { what: 'Prometheus to list EtcdMembersDown', timeoutMs: 45_000 - statusMs, intervalMs: 250 },
      );
      const prometheusMs = Date.now() - stoppedAt;
      await waitFor(() => /Slack +\[FIRING:1\] EtcdMembersDown · cluster demo/.test(demo.output()), {
        what: 'the EtcdMembersDown notification on the terminal',
        timeoutMs: NOTIFY_WITHIN_MS - prometheusMs,
        intervalMs: 250,
      });
      const firingMs = Date.now() - stoppedAt;
      // The printed amtool command, run as printed, lists it too.
      const amtool = line('list alerts').split(' ');
      expect(execFileSync(amtool[0] as string, amtool.slice(1), { encoding: 'utf8' })).toContain(
        'EtcdMembersDown',
      );
      expect(demo.output()).toMatch(/PagerDuty +trigger \[critical\] \[demo\] EtcdQuorumAtRisk/);

      const startedAt = Date.now();
      expect(execFileSync('bash', ['-c', `${startCommand} 2>/dev/null`], { encoding: 'utf8' })).toMatch(
        /started again .* and healthy/,
      );
      await waitFor(() => /Slack +\[RESOLVED\] EtcdMembersDown · cluster demo/.test(demo.output()), {
        what: 'the EtcdMembersDown resolution on the terminal',
        timeoutMs: NOTIFY_WITHIN_MS,
        intervalMs: 250,
      });
      const resolvedMs = Date.now() - startedAt;
      console.log(
        `demo: after the stop, status ${statusMs} ms, Prometheus ${prometheusMs} ms, notification ${firingMs} ms; resolution ${resolvedMs} ms after the start`,
      );
      // The demo's rules are the generator's with short `for:` (test/alerts checks the shipped files).
      const demoRules = readFileSync(resolve(tempDir, 'etcd-monitor.rules.yml'), 'utf8');
      expect(demoRules).toContain('for: 15s');
      expect(demoRules).toContain('do not deploy');

      demo.child.kill('SIGINT');
      const exit = await demo.exited;
      expect(exit.code).toBe(0);
      expect(demo.output()).toContain('temporary data removed');
      expect(existsSync(tempDir)).toBe(false);
      expect((await fetch(firstUrl('status page')).catch(() => undefined))?.status).toBeUndefined();
    } finally {
      await terminate(demo, 'SIGINT', 15_000);
    }
  }, 300_000);
});
