#!/usr/bin/env node
'use strict';
// Entry point of the `mlops` command. In a checkout the TypeScript sources run through tsx, so there is
// no build step to forget; a container image ships only the compiled `lib/` (no .ts), and runs that.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'cli', 'main.ts');
if (fs.existsSync(source)) {
  // Both hooks: `require` of .ts files and the lazy `import()`s that keep `mlops --help` fast.
  require('tsx/cjs/api').register();
  require('tsx/esm/api').register();
  require(source).main(process.argv);
} else {
  require(path.join(root, 'lib', 'cli', 'main.js')).main(process.argv);
}
