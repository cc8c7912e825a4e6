import assert from "node:assert/strict";
import { parseEdgeArgs, UsageError } from "../../src/edge/config.ts";

function upstreams(...args: string[]): readonly string[] {
  const config = parseEdgeArgs(args);
  assert.notEqual(config, "help");
  return config === "help" ? [] : config.upstreams;
}

Deno.test("parseEdgeArgs() takes upstreams as base URLs: no trailing slash, query or /v1", () => {
  assert.deepEqual(
    upstreams(
      "--upstream",
      "http://gpu-1:8000/v1,http://gpu-2:8000/v1/",
      "--upstream",
      "https://proxy.example/llm/?x=1",
    ),
    ["http://gpu-1:8000", "http://gpu-2:8000", "https://proxy.example/llm"],
  );
});

Deno.test("parseEdgeArgs() refuses an upstream listed twice once normalized", () => {
  assert.throws(
    () => parseEdgeArgs(["--upstream", "http://gpu-1:8000/v1", "--upstream", "http://gpu-1:8000"]),
    (e: unknown) => e instanceof UsageError && /listed twice/.test(e.message),
  );
});

Deno.test("parseEdgeArgs() refuses an upstream that is not an http(s) URL", () => {
  for (const bad of ["gpu-1:8000", "ftp://gpu-1/", "not a url"]) {
    assert.throws(() => parseEdgeArgs(["--upstream", bad]), UsageError, bad);
  }
});

Deno.test("parseEdgeArgs() takes --allowed-host repeated or comma-separated, lowercased", () => {
  const config = parseEdgeArgs([
    "--upstream",
    "http://gpu-1:8000",
    "--allowed-host",
    "Edge.Example.com, *.lan",
    "--allowed-host=box.",
  ]);
  assert.ok(config !== "help");
  assert.deepEqual(config.allowedHosts, ["edge.example.com", "*.lan", "box"]);
  const none = parseEdgeArgs(["--upstream", "http://gpu-1:8000"]);
  assert.ok(none !== "help");
  assert.deepEqual(none.allowedHosts, []);
});

Deno.test("parseEdgeArgs() refuses an --allowed-host that is not a host name", () => {
  for (const bad of ["http://edge.example.com", "edge.example.com:8080", "a b", "*."]) {
    assert.throws(
      () => parseEdgeArgs(["--upstream", "http://gpu-1:8000", "--allowed-host", bad]),
      (e: unknown) =>
        e instanceof UsageError && /^allowedHosts\.0: a host name like/.test(e.message),
      bad,
    );
  }
});
