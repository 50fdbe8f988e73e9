import * as renderModule from './render.js';
import type {
  AlertJson,
  BenchmarkJson,
  ClusterData,
  LeaderChangeJson,
  MemberJson,
  Part,
  StatusJson,
} from './types.js';

/*
 * The page's script: the render functions of ./render.ts (their source text, so the browser renders exactly what
 * the server does) and statusPageMain below, which polls the JSON API. Polling rather than server-sent events:
 * it reuses the REST routes, auth and OpenAPI as they are, needs no long-lived connection (each open tab would
 * hold one of --web.max-connections, and proxies cut idle streams), and a missed or failed poll heals itself on
 * the next one. One poll per collection round; a poll never overlaps the previous one.
 */

/** The few DOM members the script uses (the project compiles without the DOM library). */
interface PageElement {
  readonly id: string;
  scrollLeft: number;
  focus(): void;
  innerHTML: string;
  textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { add(name: string): void; remove(name: string): void };
  readonly children: { readonly length: number };
  readonly lastElementChild: PageElement | null;
  prepend(node: PageElement): void;
  remove(): void;
}
interface PageDocument {
  readonly activeElement: PageElement | null;
  getElementById(id: string): PageElement | null;
  createElement(tag: string): PageElement;
}

/**
 * Runs in the browser. Self-contained like the render functions: it may use only them and browser globals.
 * `render` is ./render.ts (in the browser: an object of the same functions, defined before it).
 * Reads its settings from data attributes of #status, so the script text (and its CSP hash) never changes.
 */
export function statusPageMain(doc: PageDocument, render: typeof renderModule): void {
  const root = doc.getElementById('status') as PageElement;
  const cards = doc.getElementById('clusters') as PageElement;
  const updated = doc.getElementById('updated') as PageElement;
  const log = doc.getElementById('changes') as PageElement;
  const intervalMs = Math.max(500, Number(root.dataset['intervalMs']) || 10000);
  const benchmarkOn = root.dataset['benchmark'] === 'on';
  let previous: ClusterData[] = [];
  let polls = 0;
  /** What the last poll rendered (the browser's innerHTML serializes differently, so not that). */
  let rendered = '';

  /** A JSON answer, or why there is none ("HTTP 503 NOT_READY: …"). */
  async function get<T>(path: string): Promise<Part<T>> {
    try {
      const res = await fetch(path, { headers: { accept: 'application/json' } });
      const body = (await res.json().catch(() => null)) as {
        error?: { code?: string; message?: string };
      } | null;
      if (res.ok) return body as T;
      const e = body?.error;
      return { unavailable: 'HTTP ' + res.status + (e ? ' ' + e.code + ': ' + e.message : '') };
    } catch (err) {
      return { unavailable: 'request failed: ' + String((err as Error).message ?? err) };
    }
  }
  function pick<T, U>(part: Part<T>, fn: (value: T) => U): Part<U> {
    return render.isUnavailable(part) ? part : fn(part);
  }

  async function poll(): Promise<void> {
    const list = await get<{ clusters: { name: string }[] }>('/api/v1/clusters');
    if (render.isUnavailable(list)) throw new Error(list.unavailable);
    // Asked for alongside the clusters' parts, not before them (its first answer loads the benchmark engine).
    const benchmark = benchmarkOn
      ? get<{ comparison: BenchmarkJson[] }>('/api/v1/performance/benchmark')
      : Promise.resolve({
          unavailable: 'the benchmark API is off (--web.enable-benchmark-api) or needs the operator role',
        });
    const clusters = await Promise.all(
      list.clusters.map(async ({ name }): Promise<ClusterData> => {
        const q = '?cluster=' + encodeURIComponent(name);
        const [status, members, leaders, alerts, bench] = await Promise.all([
          get<StatusJson>('/api/v1/cluster/status' + q),
          get<{ members: MemberJson[] }>('/api/v1/cluster/members' + q),
          get<{ changes: LeaderChangeJson[] }>('/api/v1/cluster/leader/history' + q + '&limit=5'),
          get<{ alerts: AlertJson[] }>('/api/v1/alerts' + q + '&limit=20'),
          benchmark,
        ]);
        return {
          name,
          status,
          members: pick(members, (b) => b.members),
          leaderChanges: pick(leaders, (b) => b.changes),
          alerts: pick(alerts, (b) => b.alerts),
          benchmark: pick(bench, (b) => b.comparison.filter((run) => run.cluster === name).pop() ?? null),
        };
      }),
    );
    const html = render.renderClusters(clusters);
    if (html !== rendered) {
      rendered = html;
      // Replacing the cards must not throw a keyboard user's focus (a member table scrolled with the arrow
      // keys) back to the top of the page: the focused element is found again by its id.
      const focused = doc.activeElement;
      const focusedId = focused && focused !== cards ? focused.id : '';
      const scrollLeft = focused ? focused.scrollLeft : 0;
      cards.innerHTML = html;
      const again = focusedId ? doc.getElementById(focusedId) : null;
      if (again) {
        again.focus();
        again.scrollLeft = scrollLeft;
      }
    }
    const now = new Date().toISOString();
    for (const change of render.describeChanges(previous, clusters)) {
      const li = doc.createElement('li');
      li.innerHTML = render.formatTime(now) + ' ' + render.esc(change);
      log.prepend(li);
      while (log.children.length > 20) log.lastElementChild?.remove();
    }
    previous = clusters;
    // Completed polls, for the browser test to count rounds.
    root.dataset['polls'] = String(++polls);
    root.classList.remove('stale');
    updated.innerHTML = 'Updated ' + render.formatTime(now) + '; updates every ' + intervalMs / 1000 + ' s.';
  }

  function loop(): void {
    poll().then(
      () => setTimeout(loop, intervalMs),
      (err: unknown) => {
        root.classList.add('stale');
        updated.textContent =
          'Update failed (' +
          String((err as Error).message ?? err) +
          '); the data below is old. Retrying every ' +
          intervalMs / 1000 +
          ' s.';
        setTimeout(loop, intervalMs);
      },
    );
  }
  loop();
}

/** The render functions the browser gets, by name: all of ./render.ts. */
const RENDER_FUNCTIONS: readonly { name: string; toString(): string }[] = Object.values(renderModule);

/**
 * The page's whole script. `__name` is a no-op stand-in for the helper esbuild (tsx, when the exporter runs
 * from source) puts into function bodies to keep their names; tsc's build output has none.
 */
export const CLIENT_SCRIPT = [
  '(() => {',
  '"use strict";',
  'const __name = (fn) => fn;',
  ...RENDER_FUNCTIONS.map((fn) => fn.toString()),
  statusPageMain.toString(),
  'statusPageMain(document, { ' + RENDER_FUNCTIONS.map((fn) => fn.name).join(', ') + ' });',
  '})();',
].join('\n');
