// tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top]: a text flame summary of a V8 CPU
// profile (node --cpu-prof): the share of samples by where the code lives (Hearth's modules by
// directory, each npm package, Node's internals, V8 and GC) and the functions with the most self
// time and the most inclusive time. Used for docs/benchmarks.md (issue 14).
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Where a frame's code lives: a Hearth directory, an npm package, Node, or the engine. */
function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName === '(garbage collector)' ? 'GC' : functionName === '(idle)' ? 'idle' : functionName.startsWith('(') ? functionName : 'V8 builtins';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url) ?? /\/(src\/[^/]+)/.exec(url);
  return own ? own[1] : url;
}
const label = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist\/)?/, '')}:${f.lineNumber + 1}`;

const self = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((s, [, t]) => s + t, 0);
const busy = total - idle;

const areas = new Map<string, number>();
const selfByFn = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') continue;
  areas.set(area(frame), (areas.get(area(frame)) ?? 0) + t);
  selfByFn.set(label(frame), (selfByFn.get(label(frame)) ?? 0) + t);
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n)!.callFrame);
    if (seen.has(l)) continue; // recursion counts once
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + t);
  }
}
const pct = (t: number) => `${((100 * t) / busy).toFixed(1)}%`;
const table = (title: string, rows: [string, number][]) => {
  console.log(`\n${title}\n| | share of busy samples |\n|---|---|`);
  for (const [k, t] of rows) console.log(`| ${k} | ${pct(t)} |`);
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((100 * busy) / total).toFixed(0)}% busy`);
table('By area (self time)', [...areas].sort((a, b) => b[1] - a[1]).slice(0, top));
table('Functions by self time', [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top));
table('Functions by inclusive time', [...inclusive].filter(([k]) => !k.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, top));
