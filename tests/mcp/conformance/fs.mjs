// node:fs plus a minimal globSync for `**/<name>` patterns (what the suite asks for).
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

export function globSync(pattern, options = {}) {
  const cwd = options.cwd ?? process.cwd();
  const name = String(pattern).split('/').pop();
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === name) out.push(path.relative(cwd, p));
    }
  };
  if (fs.existsSync(cwd)) walk(cwd);
  return out;
}
