/**
 * Fails when a module of `src/` or `bench/` imports itself through others
 * (type-only imports included: a circle of types is still a circle to read),
 * or when a layer imports one it must not (LAYERS: the store never reaches up
 * into services or engines, the domain types import nothing else…).
 * Run: `npm run check:cycles`. Prints each circle and each crossing once.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOTS = process.argv.slice(2).length ? process.argv.slice(2) : ['src', 'bench'];
const files = ROOTS.flatMap((r) => (fs.existsSync(r) ? (fs.readdirSync(r, { recursive: true }) as string[]).map((f) => path.join(r, f)) : [])).filter(
  (f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'),
);
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

const edges = new Map<string, string[]>();
/** `from\0to` for the imports that carry a value (not `import type` / `export type`): what a bundle pulls in. */
const valueEdges = new Set<string>();
for (const f of files) {
  const text = fs.readFileSync(f, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    const target = path.normalize(path.join(path.dirname(f), spec.replace(/\.js$/, '.ts')));
    if (!fs.existsSync(target)) continue;
    out.push(target);
    if (!/^\s*(?:import|export)\s+type\s/.test(m[0])) valueEdges.add(`${f}\0${target}`);
  }
  edges.set(f, out);
}

// Tarjan's strongly connected components: every component of more than one file is a circle.
let index = 0;
const idx = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const on = new Set<string>();
const circles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const comp: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) circles.push(comp.sort());
  }
}
for (const f of edges.keys()) if (!idx.has(f)) visit(f);

/**
 * Folders of src/ a folder must not import from (type-only imports included).
 * Calls go down only (docs/architecture.md): the store and the engines know
 * nothing of the services above them, and the types they share live in
 * src/domain/, which imports nothing but itself.
 */
const UPPER = ['src/services', 'src/http', 'src/scheduler', 'src/cli', 'src/server.ts', 'src/context.ts'];
/**
 * The browser code (src/client/, bundled by esbuild) reaches the server only
 * through src/client/shared/ (the dictionary, the formatting, the API's types)
 * and the pure modules of src/lib/ and src/domain/; the server imports
 * src/client/shared/ and never a browser module. The API's types come from the
 * schema modules with `import type` only (the bundle carries no schema), and
 * those modules import only TypeBox's helpers in components.ts, src/domain/ and
 * each other, so the browser's type check never reaches Fastify or Node.
 */
const BROWSER = ['src/client/*.ts'];
const SCHEMAS = ['src/http/api/*.schemas.ts', 'src/http/components.ts'];
const LAYERS: { folder: string; never?: string[]; only?: string[]; typeOnly?: string[] }[] = [
  { folder: 'src/domain', only: ['src/domain'] },
  { folder: 'src/store', never: ['src/engines', ...UPPER, ...BROWSER] },
  { folder: 'src/engines', never: ['src/store', ...UPPER, ...BROWSER] },
  { folder: 'src/lib', never: ['src/store', 'src/engines', ...UPPER, ...BROWSER] },
  { folder: 'src/client/*.ts', only: ['src/client', 'src/lib', 'src/domain'] },
  { folder: 'src/client/shared', only: ['src/client/shared', 'src/lib', 'src/domain', ...SCHEMAS], typeOnly: SCHEMAS },
  ...SCHEMAS.map((folder) => ({ folder, only: [...SCHEMAS, 'src/domain'] })),
  { folder: 'src/services', never: BROWSER },
  { folder: 'src/http', never: BROWSER },
];
/** `dir/*<suffix>` means the folder's own files whose name ends with the suffix, not its subfolders. */
const under = (file: string, folder: string): boolean => {
  const star = folder.indexOf('/*');
  if (star >= 0) return path.dirname(file) === path.normalize(folder.slice(0, star)) && file.endsWith(folder.slice(star + 2));
  return file === path.normalize(folder) || file.startsWith(path.normalize(folder) + path.sep);
};
const crossings: string[] = [];
for (const [from, targets] of edges) {
  for (const layer of LAYERS) {
    if (!under(from, layer.folder)) continue;
    for (const to of targets) {
      const wrong = layer.only ? !layer.only.some((f) => under(to, f)) : layer.never!.some((f) => under(to, f));
      if (wrong) crossings.push(`${from} imports ${to} (${layer.folder} ${layer.only ? `imports only ${layer.only.join(', ')}` : 'must not import it'})`);
      else if (layer.typeOnly?.some((f) => under(to, f)) && valueEdges.has(`${from}\0${to}`))
        crossings.push(`${from} imports ${to} with a value (${layer.folder} takes it with \`import type\` only: the bundle must not carry it)`);
    }
  }
}

for (const c of circles) console.error(`import circle: ${c.join(' ↔ ')}`);
for (const c of crossings) console.error(`layer crossing: ${c}`);
if (circles.length || crossings.length) process.exit(1);
console.log(`no import circles and no layer crossings in ${files.length} modules (${ROOTS.join(', ')})`);
