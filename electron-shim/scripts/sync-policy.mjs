// Copy the one CSP policy (protocol/csp_policy.json) into the package (src/csp_policy.json),
// from where tsc ships it in dist/. Run after editing the policy: `npm run sync-policy`.
// test/csp.test.ts fails while the two differ.
import { copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "..", "protocol", "csp_policy.json");
const target = join(root, "src", "csp_policy.json");
copyFileSync(source, target);
console.log(`copied ${source} -> ${target}`);
