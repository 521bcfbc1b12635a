/**
 * The seeded fuzz of check and diff at full size: 100,000 inputs per kind (tests/support/fuzz.ts, the
 * same seeds the suite runs to 10,000). Prints a Markdown table: inputs, how many check accepted (and
 * diff then ran on), and throws, which must be 0. Exits non-zero on a throw, printing the inputs.
 *
 * Run: `node --import tsx bench/fuzz.ts [count]`. Not a test: nothing here asserts a time.
 */
import { FUZZ_KINDS, fuzzKind } from "../tests/support/fuzz";

const COUNT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);

async function main(): Promise<void> {
  console.log(`## Fuzzed check and diff: ${COUNT.toLocaleString("en")} seeded inputs per kind\n`);
  console.log("| kind | inputs | accepted by check (then diffed) | throws | wall |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const failed: string[] = [];
  for (const [n] of FUZZ_KINDS.entries()) {
    const start = process.hrtime.bigint();
    const outcome = await fuzzKind(n, COUNT);
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    console.log(
      `| ${outcome.kind} | ${outcome.inputs} | ${outcome.accepted} | ${outcome.throws.length} | ${ms} ms |`,
    );
    failed.push(...outcome.throws.map((t) => `${outcome.kind}: ${t}`));
  }
  if (failed.length) {
    console.error(`check or diff threw:\n${failed.join("\n")}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
