// Runs simulated etcd members in their own process (spawnSimulatedMembers): argv[2] is the options as
// JSON; prints one JSON line `{"clusters":[{"name","endpoints"}...],"pid"}` once every member listens,
// and stops on SIGTERM or SIGINT.
import { startSimulatedMembers, type SimulatedMembersOptions } from './simulated-members.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as SimulatedMembersOptions;
const members = await startSimulatedMembers(opts);
process.stdout.write(`${JSON.stringify({ clusters: members.clusters, pid: process.pid })}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void members.stop().finally(() => process.exit(0));
  });
}
