// Runs simulated etcd members in their own process (spawnSimulatedMembers): argv[2] is the options as
// JSON; prints one JSON line `{"clusters":[{"name","endpoints"}...],"pid"}` once every member listens,
// and stops on SIGTERM or SIGINT, or when the process that started it is gone (a SIGKILLed test runner
// never reaps it, and 1,000 listeners would outlive it).
import { startSimulatedMembers, type SimulatedMembersOptions } from './simulated-members.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as SimulatedMembersOptions;
const parent = process.ppid;
const members = await startSimulatedMembers(opts);
process.stdout.write(`${JSON.stringify({ clusters: members.clusters, pid: process.pid })}\n`);
const stop = (): void => {
  void members.stop().finally(() => process.exit(0));
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, stop);
// Re-parented (to init or a subreaper) once the parent died.
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 2000).unref();
