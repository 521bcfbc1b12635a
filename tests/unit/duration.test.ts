// customTimeouts are read with the grammar of Go's time.ParseDuration, which is what Pulumi's engine
// parses them with (pulumi/pulumi@a88168d8 pkg/resource/deploy/source_eval.go:3042-3049). The rows
// follow Go's own table for ParseDuration (golang/go src/time/time_test.go `parseDurationTests`).
import assert from "node:assert/strict";
import { customTimeoutsProblem, parseGoDuration, timeoutSecondsFor } from "../../provider/plan/duration";

describe("customTimeouts: Go duration syntax", () => {
  const valid: [string, number][] = [
    ["0", 0],
    ["5s", 5],
    ["30s", 30],
    ["1478s", 1478],
    ["-5s", -5],
    ["+5s", 5],
    ["-0", 0],
    ["+0", 0],
    ["5.0s", 5],
    ["5.6s", 5.6],
    ["5.s", 5],
    [".5s", 0.5],
    ["1.004s", 1.004],
    ["100.00100s", 100.001],
    ["10ns", 10e-9],
    ["11us", 11e-6],
    ["12\u00b5s", 12e-6],
    ["12\u03bcs", 12e-6],
    ["13ms", 0.013],
    ["15m", 900],
    ["16h", 57600],
    ["3h30m", 12600],
    ["10.5s4m", 250.5],
    ["-2m3.4s", -123.4],
    ["1h2m3s4ms5us6ns", 3723.004005006],
    ["39h9m14.425s", 140954.425],
    ["0.3333333333333333333h", 1200],
    ["9223372036854775807ns", 9223372036.854776],
    ["-9223372036854775808ns", -9223372036.854776],
  ];
  for (const [text, seconds] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      const got = parseGoDuration(text);
      assert.ok("seconds" in got, JSON.stringify(got));
      assert.ok(Math.abs(got.seconds - seconds) < 1e-6, `${got.seconds} != ${seconds}`);
    });
  }
  const invalid: [string, string][] = [
    ["", 'invalid duration ""'],
    ["3", 'missing unit in duration "3"'],
    ["-", 'invalid duration "-"'],
    ["s", 'invalid duration "s"'],
    [".", 'invalid duration "."'],
    ["-.", 'invalid duration "-."'],
    [".s", 'invalid duration ".s"'],
    ["+.s", 'invalid duration "+.s"'],
    ["1d", 'unknown unit "d" in duration "1d"'],
    ["5min", 'unknown unit "min" in duration "5min"'],
    ["5 m", 'unknown unit " m" in duration "5 m"'],
    ["1h-5m", 'unknown unit "h-" in duration "1h-5m"'],
    ["9223372036854775808ns", 'invalid duration "9223372036854775808ns"'],
    ["-9223372036854775809ns", 'invalid duration "-9223372036854775809ns"'],
  ];
  for (const [text, error] of invalid) {
    it(`refuses ${JSON.stringify(text)}: ${error}`, () => assert.deepEqual(parseGoDuration(text), { error }));
  }

  it("names the option, says what is wrong and what to write instead", () => {
    assert.equal(
      customTimeoutsProblem({ create: "10m", delete: "5min" }),
      'customTimeouts.delete: "5min" is not a duration (unknown unit "min" in duration "5min"); use Go duration syntax such as "5m", "1h30m" or "90s"',
    );
    assert.equal(
      customTimeoutsProblem({ update: "-1m" }),
      'customTimeouts.update: "-1m" must be longer than zero',
    );
    assert.equal(customTimeoutsProblem({ create: "10m", update: "1h", delete: "90s" }), undefined);
    assert.equal(customTimeoutsProblem(undefined), undefined);
  });

  it("gives each step its own budget, the default where the step has none, and refresh always the default", () => {
    const t = { create: "2m", delete: "90s" };
    assert.equal(timeoutSecondsFor(t, "create"), 120);
    assert.equal(timeoutSecondsFor(t, "update"), 600);
    assert.equal(timeoutSecondsFor(t, "delete"), 90);
    assert.equal(timeoutSecondsFor(t, "read"), 600);
    assert.equal(timeoutSecondsFor(undefined, "delete"), 600);
  });
});
