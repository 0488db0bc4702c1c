// JS half of benchmarks/bench_tiles.py: plans per second with js/tiles.js.
// Reads {"sizes": [[w, h], ...], "rules": [...], "details": [...], "runs": N} on stdin
// (the Python script sends the same sizes it times), prints JSON timings on stdout.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { plan } from "../grok_nb/notebook/js/tiles.js";

const job = JSON.parse(readFileSync(0, "utf8"));
const out = { node: process.version, timings: {}, tokens: {} };
for (const rule of job.rules) {
  for (const detail of job.details) {
    const key = `${rule}/${detail}`;
    const opts = { rule, detail };
    let tokens = 0;
    for (const [w, h] of job.sizes) tokens += plan(w, h, opts).tokens; // warm-up (JIT)
    const times = [];
    for (let run = 0; run < job.runs; run++) {
      const t0 = performance.now();
      for (const [w, h] of job.sizes) plan(w, h, opts);
      times.push((performance.now() - t0) / 1000);
    }
    out.timings[key] = times;
    out.tokens[key] = tokens;
  }
}
process.stdout.write(JSON.stringify(out));
