/**
 * Summarise a V8 .cpuprofile (`node --cpu-prof`, or bench/record-cost.ts
 * --prof): the top functions by self time and by inclusive time (a function
 * counted once per sample however deep it recurses), and self time per
 * package / source folder.
 *
 *   npx tsx bench/profile-summary.ts file.cpuprofile [top=30] [--divide N]
 *
 * `--divide N`: also print each figure divided by N (e.g. ms per record).
 * `--last S`: only the profile's last S seconds (a server's `--cpu-prof` covers its start-up too: module
 * loading, route schemas compiled; `api-path`'s BENCH_API_PATH_PROF ends a second or so after the batch).
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const divAt = args.indexOf('--divide');
const divide = divAt >= 0 ? Number(args.splice(divAt, 2)[1]) : 0;
const lastAt = args.indexOf('--last');
const lastMs = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) * 1000 : Infinity;
const prof = JSON.parse(fs.readFileSync(args[0]!, 'utf8')) as Profile;
const top = Number(args[1] ?? 30);

const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map<number, number>();
for (const x of prof.nodes) for (const ch of x.children ?? []) parent.set(ch, x.id);

const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, '~')
    .replace(/^(?!~).*\/(src|bench|test|dist)\//, '$1/');
const label = (x: Node) => `${x.callFrame.functionName || '(anonymous)'} ${short(x.callFrame.url)}:${x.callFrame.lineNumber + 1}`;
const group = (x: Node) => {
  const u = short(x.callFrame.url);
  if (!u) return x.callFrame.functionName.startsWith('(') ? x.callFrame.functionName : '(native)';
  if (u.startsWith('~')) {
    const parts = u.slice(1).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (u.startsWith('node:')) return u;
  return u.split('/').slice(0, 2).join('/');
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
const groups = new Map<string, number>();
let total = 0;
const spanMs = prof.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
let at = 0;
prof.samples.forEach((id, i) => {
  const dt = (prof.timeDeltas[i] ?? 0) / 1000;
  at += dt;
  if (at < spanMs - lastMs) return;
  total += dt;
  const leaf = byId.get(id)!;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  groups.set(group(leaf), (groups.get(group(leaf)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + dt);
  }
});

const fmt = (ms: number) =>
  `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%${divide ? ` ${(ms / divide).toFixed(3).padStart(7)}/rec` : ''}`;
const print = (title: string, m: Map<string, number>, k: number) => {
  console.log(`\n${title}`);
  for (const [l, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, k)) console.log(`${fmt(ms)}  ${l}`);
};
console.log(`total sampled ${total.toFixed(0)} ms`);
print('self time by package / folder', groups, 25);
print('self time', self, top);
print('inclusive time', incl, top);
