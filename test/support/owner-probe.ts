// Run by test/integration/host-identity.test.ts, possibly in another PID namespace: opens the SQLite
// database given as argv[2], starts a Runtime on it as a real server would (processOwner, processProbe;
// start() registers this process and reaps owners it takes for dead), and prints one JSON line to
// stderr: its host identity, what the probe says of the owner host/pid given as argv[3]/argv[4], and
// the ids of the owners left after start() (its own included).
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { hostIdentity, processOwner, processProbe, systemClock } from '../../src/adapters/system.js';
import { Runtime } from '../../src/core/runtime.js';

const [path, host, pid] = process.argv.slice(2);
const { store, close } = await openSqliteStore(path!);
const runtime = new Runtime({ store, clock: systemClock, probe: processProbe, owner: processOwner(), leaseMs: 60_000 });
await runtime.start();
const owners = (await store.owners.list()).map((o) => o.id);
runtime.stop();
await close();
process.stderr.write(`${JSON.stringify({ identity: hostIdentity(), pid: process.pid, probe: processProbe.isRunning(host!, Number(pid)), owners })}\n`);
