import type { CtlIo } from './actions.js';

/** A CtlIo that can also report the exit status. */
export interface CtlRuntime extends CtlIo {
  exit(code: number): void;
}

/** Grace for a stream to close after Ctrl-C/SIGTERM before the process ends anyway. */
const SIGNAL_GRACE_MS = 300;
/**
 * A finished command whose connections still hold the event loop exits after this. Measured: after
 * client.close(), grpc-js keeps its pending HTTP/2 connect to a listener that never answers (it has no
 * connect timeout of its own), which held the process ≈1 s past --timeout with a 1 s grace. Output is
 * already written: stdout and stderr are synchronous for files, pipes and terminals on Linux.
 */
const EXIT_GRACE_MS = 100;

/** The process as a CtlRuntime: stdout, stderr, exit status, and SIGINT/SIGTERM for long-running commands. */
export function processRuntime(): CtlRuntime {
  let controller: AbortController | undefined;
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (caught) die(sig);
    caught = sig;
    controller?.abort();
    setTimeout(() => die(sig), SIGNAL_GRACE_MS);
  };
  // Like etcdctl (Go's default handling), an interrupted watch ends by the signal itself, so the shell sees
  // 130 (SIGINT) or 143 (SIGTERM) and a script can tell an interrupt from a result.
  const die = (sig: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
    setTimeout(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)), 100).unref();
  };
  return {
    write: (t) => process.stdout.write(t),
    writeErr: (t) => process.stderr.write(t),
    // Installed only when a long-running subcommand (watch, keep-alive) asks, so Ctrl-C ends it cleanly
    // instead of killing it mid-write, while every other command keeps the default signal behaviour.
    get signal() {
      if (!controller) {
        controller = new AbortController();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }
      return controller.signal;
    },
    exit: (code) => {
      if (caught) return die(caught);
      process.exitCode = code;
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
