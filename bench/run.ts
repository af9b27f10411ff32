/**
 * `npm run bench`: the performance figures the issues name, printed as one table. Each `bench/*.bench.ts`
 * is a section exporting `run()`; sections run one after another against the real parts (Azurite in its own
 * process, the local host as `npm start` runs it), on this machine. `npm run bench -- <name>` runs only the
 * sections whose file name contains <name>.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchRow, BenchSection } from './bench-kit';

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js') && (!only || f.includes(only)))
    .sort();
  if (files.length === 0) throw new Error(`no bench section matches '${only}'`);
  const rows: BenchRow[] = [];
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const section = require(path.join(__dirname, file)) as { run: BenchSection };
    rows.push(...(await section.run()));
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Attest benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${cpu}\n`,
  );
  console.log('| figure | value | goal | note |');
  console.log('| --- | ---: | ---: | --- |');
  for (const r of rows) console.log(`| ${r.figure} | ${r.value} | ${r.goal ?? ''} | ${r.note} |`);
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
