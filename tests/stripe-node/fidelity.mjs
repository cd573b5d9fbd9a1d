// Checks objects captured from the sandbox against the `stripe` npm package's TypeScript
// declarations for the pinned API version: every field Stripe's type requires is present (null
// only where the type allows null) and no field is one Stripe's type lacks, at every depth.
// Usage: node fidelity.mjs <objects.json: {"PaymentIntent": {...}, "PaymentMethod:sepa": {...}, ...}>
//        <node_modules with stripe and typescript>
// Run by `cargo xtask test` (stage "sandbox objects match stripe's declarations").
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [objectsFile, modules] = process.argv.slice(2);
const ts = createRequire(path.join(path.resolve(modules), 'x.js'))('typescript');
const objects = JSON.parse(fs.readFileSync(objectsFile, 'utf8'));
// A key is a type's name, with `:label` when one type is captured more than once.
const kinds = Object.keys(objects);
const alias = k => `T_${k.replace(/\W/g, '_')}`;
// A probe file naming each type, next to the captured objects, resolving `stripe` in `modules`.
const probe = path.join(path.dirname(path.resolve(objectsFile)), 'fidelity-probe.ts');
fs.writeFileSync(probe, "import type Stripe from 'stripe';\n" +
  kinds.map(k => `export type ${alias(k)} = Stripe.${k.split(':')[0]};`).join('\n') + '\n');
const program = ts.createProgram([probe], {
  strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  baseUrl: path.dirname(probe), paths: { stripe: [path.join(path.resolve(modules), 'stripe')] },
});
const checker = program.getTypeChecker();
const aliases = new Map();
ts.forEachChild(program.getSourceFile(probe), n => {
  if (ts.isTypeAliasDeclaration(n)) aliases.set(n.name.text, checker.getTypeAtLocation(n.name));
});

const problems = [];
const nullable = t => t.isUnion() ? t.types.some(nullable)
  : (t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
const objectParts = t => (t.isUnion() ? t.types : [t]).filter(x => (x.flags & ts.TypeFlags.Object) !== 0);
const literalOf = (t, name) => {
  const p = t.getProperty(name);
  return p && checker.typeToString(checker.getTypeOfSymbol(p));
};

function walk(type, value, at) {
  if (value === null) {
    if (!nullable(type)) problems.push(`${at}: null, where Stripe's type never is`);
    return;
  }
  if (typeof value !== 'object') return;
  const parts = objectParts(type);
  if (!parts.length) return;
  if (Array.isArray(value)) {
    const array = parts.find(p => checker.isArrayType(p));
    if (array) value.forEach((v, i) => walk(checker.getTypeArguments(array)[0], v, `${at}[${i}]`));
    return;
  }
  // An expandable field's union (an id or the object): the object type whose `object` literal
  // names this value's, else the first object type.
  const t = parts.find(p => value.object !== undefined && literalOf(p, 'object') === JSON.stringify(value.object))
    || parts.find(p => !checker.isArrayType(p));
  if (!t || checker.getIndexInfosOfType(t).length) return; // a map such as metadata
  const props = checker.getPropertiesOfType(t);
  for (const p of props) {
    const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
    if (!(p.name in value)) {
      if (!optional) problems.push(`${at}.${p.name}: missing (${checker.typeToString(checker.getTypeOfSymbol(p))})`);
      continue;
    }
    walk(checker.getTypeOfSymbol(p), value[p.name], `${at}.${p.name}`);
  }
  const names = new Set(props.map(p => p.name));
  for (const k of Object.keys(value)) if (!names.has(k)) problems.push(`${at}.${k}: not in Stripe's type`);
}

for (const k of kinds) {
  const type = aliases.get(alias(k));
  if (!type || type.flags & ts.TypeFlags.Any) { problems.push(`${k}: no such type in stripe's declarations`); continue; }
  walk(type, objects[k], k);
}
fs.unlinkSync(probe);
for (const p of problems) console.log(p);
console.log(`${kinds.join(', ')}: ${problems.length} difference(s) from stripe's declarations`);
process.exit(problems.length ? 1 : 0);
