import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isExecutable, runToEnd } from '../test/helpers/servers/server-process.ts';

/**
 * Closed-loop HTTP load with a generator that is not Node (wrk, from Debian), so that it costs the
 * measured server as little CPU as possible; autocannon in a child process when wrk is absent.
 */
export interface LoadSpec {
  readonly url: string;
  readonly token?: string;
  readonly contentType: string;
  /**
   * The body around its id slots: `parts[0] id₀ parts[1] id₁ … parts[n]`. Every slot gets a value
   * no other request of the run has, so that each event is a new message, never a duplicate.
   */
  readonly parts: readonly string[];
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** Prefix of the generated ids: different for every run against one store. */
  readonly tag: string;
}

export interface LoadResult {
  readonly tool: 'wrk' | 'autocannon';
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers other than 2xx/3xx, plus connect/read/write errors and timeouts. */
  readonly errors: number;
}

const WRK = process.env.BENCH_WRK ?? '/usr/bin/wrk';
const AUTOCANNON = new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname;

/** wrk when installed; `BENCH_LOAD_TOOL=autocannon` chooses autocannon, to rule out the load generator. */
export function loadTool(): LoadResult['tool'] {
  if (process.env.BENCH_LOAD_TOOL === 'autocannon') return 'autocannon';
  return isExecutable(WRK) ? 'wrk' : 'autocannon';
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return loadTool() === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

/** Lua long strings take any text (JSON included) as long as the closing bracket does not occur in it. */
const luaString = (text: string): string => `[==[${text}]==]`;

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'koppel-bench-wrk-'));
  const script = join(dir, 'post.lua');
  writeFileSync(
    script,
    `
local parts = { ${spec.parts.map(luaString).join(', ')} }
local threads = {}
wrk.method = "POST"
wrk.headers["content-type"] = ${luaString(spec.contentType)}
${spec.token ? `wrk.headers["authorization"] = ${luaString(`Bearer ${spec.token}`)}` : ''}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local counter = 0
local pieces = {}
function request()
  counter = counter + 1
  local prefix = ${luaString(spec.tag)} .. "-" .. tid .. "-" .. counter .. "-"
  local n = 0
  for i = 1, #parts - 1 do
    pieces[n + 1] = parts[i]
    pieces[n + 2] = prefix
    pieces[n + 3] = i
    n = n + 3
  end
  pieces[n + 1] = parts[#parts]
  for i = n + 2, #pieces do pieces[i] = nil end
  return wrk.format(nil, nil, nil, table.concat(pieces))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_JSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"errors\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`,
  );
  try {
    const output = await runToEnd(WRK, [
      '-t',
      String(spec.threads),
      '-c',
      String(spec.connections),
      '-d',
      `${spec.seconds}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      spec.url,
    ]);
    const line = /BENCH_JSON (\{.*\})/.exec(output)?.[1];
    if (!line) throw new Error(`wrk printed no summary:\n${output}`);
    const r = JSON.parse(line) as {
      requests: number;
      durationUs: number;
      p50Us: number;
      p99Us: number;
      errors: number;
    };
    return {
      tool: 'wrk',
      requests: r.requests,
      requestsPerSec: r.requests / (r.durationUs / 1e6),
      p50Ms: r.p50Us / 1000,
      p99Ms: r.p99Us / 1000,
      errors: r.errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  // autocannon puts one fresh id in place of every `[<id>]` of a request; the slot number keeps them apart.
  const body = spec.parts
    .slice(1)
    .reduce((text, part, i) => `${text}${spec.tag}-[<id>]-${i + 1}${part}`, spec.parts[0] ?? '');
  const args = [
    AUTOCANNON,
    '-j',
    '-I',
    '-c',
    String(spec.connections),
    '-d',
    String(spec.seconds),
    '-m',
    'POST',
    '-H',
    `content-type=${spec.contentType}`,
  ];
  if (spec.token) args.push('-H', `authorization=Bearer ${spec.token}`);
  args.push('-b', body, spec.url);
  const output = await runToEnd(process.execPath, args);
  const r = JSON.parse(output.slice(output.indexOf('{'))) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    duration: number;
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return {
    tool: 'autocannon',
    requests: r.requests.total,
    requestsPerSec: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}
