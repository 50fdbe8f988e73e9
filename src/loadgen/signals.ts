import { ConfigError, MonitorError } from '../util/errors.js';
import { formatCleanup } from './report.js';
import { BenchInterruptedError } from './prefix.js';

// Ctrl-C and SIGTERM during a benchmark: stop issuing calls, wait for those in flight, delete the run's
// keys, then exit as a shell expects of a process ended by that signal.

/** Exit statuses of a run stopped by a signal, as shells report them (128 + signal number). */
export const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs `run` with an AbortSignal that SIGINT/SIGTERM abort: the run stops issuing calls, waits for
 * the ones in flight and deletes its keys. A second signal exits at once and names the prefix to
 * delete by hand.
 */
export async function withSignals<T>(
  prefix: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<{ value?: T; signal?: 'SIGINT' | 'SIGTERM' }> {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const on = (sig: 'SIGINT' | 'SIGTERM') => (): void => {
    if (received) {
      process.stderr.write(
        `etcd-monitor: second ${sig}: exiting before the cleanup finished; delete the run's keys with: etcdctl del --prefix ${JSON.stringify(prefix)}\n`,
      );
      process.exit(SIGNAL_EXIT[sig]);
    }
    received = sig;
    process.stderr.write(
      `\netcd-monitor: ${sig}: stopping the benchmark and deleting its keys under ${JSON.stringify(prefix)}\n`,
    );
    controller.abort();
  };
  const handlers = { SIGINT: on('SIGINT'), SIGTERM: on('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  try {
    return { value: await run(controller.signal) };
  } catch (err) {
    if (err instanceof BenchInterruptedError && received) {
      process.stderr.write(
        `etcd-monitor: ${err.message}\n${err.cleanup ? `${formatCleanup(err.cleanup)}\n` : ''}`,
      );
      return { signal: received };
    }
    // Exit status 2 like any other bad flag: the user chose a prefix that holds someone's keys.
    if (err instanceof MonitorError && err.code === 'BENCH_PREFIX_NOT_EMPTY')
      throw new ConfigError('prefix', err.message);
    throw err;
  } finally {
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}
