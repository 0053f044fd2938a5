/**
 * Where a gateway's CPU went: `node --import tsx bench/profile-summary.ts <file.cpuprofile|folder> [top]`
 * prints the functions with the most self time, the same time summed per package or folder, and for
 * the hottest library functions which Koppel code (gateway/, adapters/) called them.
 * Profiles come from `BENCH_PROFILE=1 npm run bench` (bench/results/profiles/<scenario>/); in a
 * folder the largest profile is the main thread's.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const [target, topArg] = process.argv.slice(2);
if (!target) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile|folder> [top]');
const file = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0]
  : target;
if (!file) throw new Error(`no .cpuprofile in ${target}`);
// The bench runs the gateway compiled into bench/results/build/: name its files as in the source tree.
const profile = JSON.parse(
  readFileSync(file, 'utf8').replace(/\/bench\/results\/build\/([^"]*?)\.js"/g, '/$1.ts"'),
) as Profile;
const top = Number(topArg ?? 25);

// Self time per node: each sample's delta belongs to the node sampled.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = profile.endTime - profile.startTime;

const where = (url: string): string => {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node: core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const local =
    /\/work\/[^/]+\/([^/]+\/[^/]+)/.exec(url)?.[1] ?? /\/(gateway|adapters|bench|test)\/[^?]*/.exec(url)?.[0];
  return local ?? url;
};

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'}  ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/[^/]+\//, '')}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byPlace.set(where(url), (byPlace.get(where(url)) ?? 0) + us);
}

const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
  }
};
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s profiled`);
print('Self time by function', byFunction);
print('Self time by package or folder', byPlace);

// Library time is only actionable through its caller: attribute each hot function's self time to
// the nearest Koppel frame above it.
const parent = new Map<number, ProfileNode>();
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
const ours = (url: string): boolean => /\/(gateway|adapters)\//.test(url) && !url.includes('node_modules');
const koppelCaller = (node: ProfileNode): string => {
  for (let up = parent.get(node.id); up; up = parent.get(up.id)) {
    const { functionName, url, lineNumber } = up.callFrame;
    if (ours(url))
      return `${functionName || '(anonymous)'}  ${url.replace(/^.*\/(gateway|adapters)\//, '$1/')}:${lineNumber + 1}`;
  }
  return '(no Koppel frame: start-up, timers, I/O callbacks)';
};
const hottest = [...byFunction]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 5)
  .map(([name]) => name);
for (const name of hottest) {
  const callers = new Map<string, number>();
  for (const node of nodes.values()) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/[^/]+\//, '')}:${lineNumber + 1}`;
    if (key !== name) continue;
    const caller = koppelCaller(node);
    callers.set(caller, (callers.get(caller) ?? 0) + (selfUs.get(node.id) ?? 0));
  }
  print(`Koppel callers of ${name}`, callers);
}
