/**
 * A fuzz campaign: real MariaDB servers, two mysqlda processes in front of them (one plain, one offering TLS),
 * batches of generated cases played over many sockets at once, and after each batch the checks that the proxy
 * survived them: alive, serving a fresh client within 1 s, no session left behind, memory back near its level.
 * Known defects are also probed one by one before the batches.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { binlogDumpGtidThenQuit, generateCase, hexOf, PLACES, sixteenMegabyteResponse, type FuzzCase, type Place } from './cases.js';
import { playCase, type CaseOutcome, type Target } from './driver.js';
import { Prng } from './prng.js';
import { FuzzProxy, type SessionCounts } from './proxy-process.js';
import { CLIENT_CAPABILITIES, command, frame, handshakeResponse, query, u16, u32 } from './wire.js';

const run = promisify(execFile);

/** A fresh client must log in, route and run `select 1` within this. */
const FRESH_CLIENT_MS = 1_000;
/** Sessions must be back to the baseline this long after the last fuzz socket closed (the close grace is 1 s). */
const SETTLE_MS = 5_000;
/**
 * RSS after a batch may exceed the level measured after the first batch by this much. Batches hold up to a few
 * packets of 16 MB (each read, joined and copied once or twice) whose memory V8 and malloc hand back lazily; a
 * leak of per-session state grows past this within a few batches of a full run, a last large packet does not.
 */
export const RSS_SLACK_BYTES = 160 * 1024 * 1024;
/** Known defect 3's bound: what one 16 MB packet before login may cost in proxy CPU. */
const SIXTEEN_MB_CPU_SECONDS = 0.25;
/** Known defect 4's bound: log bytes one failed login may add, whatever the user name's length. */
const FAILED_LOGIN_LOG_BYTES = 16 * 1024;

export interface CampaignOptions {
  seed: number;
  cases: number;
  /** Cases between two checks. */
  batchSize: number;
  /** Sockets in flight at once. */
  concurrency: number;
  /** Let admin command codes into routed cases (see GeneratorOptions). */
  adminCommands: boolean;
  /** Only these case indexes (a replay), not 0 .. cases-1. */
  only?: number[];
  /** Probe the known defects one by one before the batches. */
  probes: boolean;
  log(line: string): void;
}

export interface Failure {
  check: string;
  detail: string;
  /** The cases it is attributed to, formatted for replay. */
  cases: string[];
  knownDefect?: number;
}

export interface CampaignReport {
  seed: number;
  cases: number;
  perPlace: Record<Place, number>;
  durationMs: number;
  failures: Failure[];
  rss: { warm: number; max: number; last: number };
  logBytes: number;
}

/** The sandbox and the two proxies a campaign runs against. */
export class FuzzEnvironment {
  private constructor(
    readonly dir: string,
    readonly sandbox: Sandbox,
    readonly plain: FuzzProxy,
    readonly secure: FuzzProxy,
  ) {}

  static async start(): Promise<FuzzEnvironment> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-fuzz-'));
    const sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 });
    try {
      const certFile = path.join(dir, 'cert.pem');
      const keyFile = path.join(dir, 'key.pem');
      // An EC key: each TLS case costs the proxy a handshake, much cheaper with P-256 than with RSA.
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=mysqlda-fuzz']);
      const plain = await FuzzProxy.create(sandbox, dir, 'plain', null);
      const secure = await FuzzProxy.create(sandbox, dir, 'tls', { certFile, keyFile });
      return new FuzzEnvironment(dir, sandbox, plain, secure);
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
  }

  get proxies(): FuzzProxy[] {
    return [this.plain, this.secure];
  }

  target(fuzzCase: FuzzCase): Target {
    return { port: fuzzCase.proxy === 'tls' ? this.secure.port : this.plain.port, user: this.sandbox.user, password: this.sandbox.password };
  }

  async stop(): Promise<void> {
    for (const proxy of this.proxies) await proxy.stop();
    await this.sandbox.stop();
    if (!process.env.MYSQLDA_KEEP_SANDBOX) await rm(this.dir, { recursive: true, force: true });
  }
}

/** One line per case, enough to replay it: MYSQLDA_FUZZ_SEED=<seed> MYSQLDA_FUZZ_ONLY=<index>. */
export function formatCase(fuzzCase: FuzzCase): string {
  const where = fuzzCase.place === fuzzCase.stage ? fuzzCase.place : `${fuzzCase.place}/${fuzzCase.stage}`;
  return `seed ${fuzzCase.seed} case ${fuzzCase.index} [${where} ${fuzzCase.kind}, ending ${fuzzCase.ending}] ${hexOf(fuzzCase)}`;
}

export function formatFailure(failure: Failure): string {
  const defect = failure.knownDefect ? ` (known defect ${failure.knownDefect})` : '';
  return [`FAIL ${failure.check}${defect}: ${failure.detail}`, ...failure.cases.map((line) => `    ${line}`)].join('\n');
}

export async function runCampaign(env: FuzzEnvironment, options: CampaignOptions): Promise<CampaignReport> {
  const started = Date.now();
  const failures: Failure[] = [];
  const fail = (failure: Failure) => {
    failures.push(failure);
    options.log(formatFailure(failure));
  };
  const perPlace = Object.fromEntries(PLACES.map((place) => [place, 0])) as Record<Place, number>;
  const checker = new BatchChecker(env, fail, options.log);
  await checker.settleBaseline();

  if (options.probes) await probeKnownDefects(env, options, checker, fail);

  const indexes = options.only ?? Array.from({ length: options.cases }, (_, i) => i);
  let played = 0;
  for (let from = 0; from < indexes.length; from += options.batchSize) {
    const batch = indexes.slice(from, from + options.batchSize).map((index) => generateCase(options.seed, index, { adminCommands: options.adminCommands }));
    const outcomes = await playBatch(env, batch, options.concurrency);
    for (const [fuzzCase, outcome] of outcomes) {
      perPlace[fuzzCase.place]++;
      if (outcome.problem) fail({ check: 'case', detail: outcome.problem, cases: [formatCase(fuzzCase)], knownDefect: fuzzCase.knownDefect });
    }
    played += batch.length;
    await checker.afterBatch(`cases ${batch[0].index}..${batch[batch.length - 1].index}`, outcomes);
    if ((from / options.batchSize) % 10 === 9 || played === indexes.length) {
      options.log(`fuzz: ${played}/${indexes.length} cases, ${failures.length} failures, ${Math.round((Date.now() - started) / 1000)} s, RSS ${mb(checker.rss.last)} (warm ${mb(checker.rss.warm)})`);
    }
  }
  return { seed: options.seed, cases: played, perPlace, durationMs: Date.now() - started, failures, rss: checker.rss, logBytes: (await env.plain.logSize()) + (await env.secure.logSize()) };
}

async function playBatch(env: FuzzEnvironment, batch: FuzzCase[], concurrency: number): Promise<Map<FuzzCase, CaseOutcome>> {
  const outcomes = new Map<FuzzCase, CaseOutcome>();
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const fuzzCase = batch[next++];
      outcomes.set(fuzzCase, await playCase(fuzzCase, env.target(fuzzCase)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
  return outcomes;
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** The checks after each batch, and what they compare against (session baseline, warm RSS). */
class BatchChecker {
  private baseline = new Map<FuzzProxy, SessionCounts>();
  /** The plain proxy's RSS (the figures reported); each proxy is checked against its own level. */
  readonly rss = { warm: 0, max: 0, last: 0 };
  private readonly warmRss = new Map<FuzzProxy, number>();

  constructor(
    private readonly env: FuzzEnvironment,
    private readonly fail: (failure: Failure) => void,
    private readonly log: (line: string) => void,
  ) {}

  async settleBaseline(): Promise<void> {
    for (const proxy of this.env.proxies) this.baseline.set(proxy, await proxy.sessionCounts());
  }

  /** The checks after a batch; `rss` false for the probes, which run before memory has found its level. */
  async afterBatch(label: string, outcomes: Map<FuzzCase, CaseOutcome>, rss = true): Promise<void> {
    await this.checkBackends(label);
    for (const proxy of this.env.proxies) {
      if (!proxy.alive) {
        this.fail({ check: 'proxy alive', detail: `mysqlda ${proxy.name} ${proxy.exit} after ${label}; log tail:\n${await proxy.logTail()}`, cases: [] });
        await proxy.start();
        this.baseline.set(proxy, await proxy.sessionCounts());
        this.warmRss.delete(proxy);
        continue;
      }
      await this.checkFreshClient(proxy, label);
      await this.checkSessions(proxy, label, outcomes);
    }
    if (rss) for (const proxy of this.env.proxies) await this.checkRss(proxy, label);
  }

  /** A backend that died (COM_SHUTDOWN let through) is reported and started again, so the campaign goes on. */
  private async checkBackends(label: string): Promise<void> {
    for (const library of this.env.sandbox.libraries) {
      for (const server of [library.master, ...library.replicas]) {
        if (server.running) continue;
        this.fail({ check: 'backend alive', detail: `${server.name} (port ${server.port}) stopped during ${label}; restarted`, cases: [], knownDefect: 2 });
        await server.restart();
      }
    }
  }

  async checkFreshClient(proxy: FuzzProxy, label: string): Promise<void> {
    const started = Date.now();
    let connection: mysql.Connection | null = null;
    try {
      const attempt = (async () => {
        connection = await mysql.createConnection({
          host: '127.0.0.1',
          port: proxy.port,
          user: this.env.sandbox.user,
          password: this.env.sandbox.password,
          connectTimeout: FRESH_CLIENT_MS,
          ...(proxy.tls ? { ssl: { rejectUnauthorized: false } } : {}),
        });
        await connection.query('select library fuzz-check');
        const [rows] = await connection.query('select 1 as ok');
        if ((rows as { ok: number }[])[0]?.ok !== 1) throw new Error(`select 1 returned ${JSON.stringify(rows)}`);
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not done within ${FRESH_CLIENT_MS} ms`)), FRESH_CLIENT_MS)));
      attempt.catch(() => {});
      await Promise.race([attempt, late]).finally(() => clearTimeout(timer));
    } catch (err) {
      this.fail({ check: 'fresh client', detail: `mysqlda ${proxy.name} after ${label}: a mysql2 client could not log in, route and select 1 (${(err as Error).message}; ${Date.now() - started} ms)`, cases: [] });
    } finally {
      await (connection as mysql.Connection | null)?.end().catch(() => {});
    }
  }

  private async checkSessions(proxy: FuzzProxy, label: string, outcomes: Map<FuzzCase, CaseOutcome>): Promise<void> {
    const baseline = this.baseline.get(proxy)!;
    const deadline = Date.now() + SETTLE_MS;
    let counts = await proxy.sessionCounts();
    while ((counts.open !== baseline.open || counts.closing !== baseline.closing) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      counts = await proxy.sessionCounts();
    }
    if (counts.open === baseline.open && counts.closing === baseline.closing) return;
    // Name the cases the remaining sessions belong to, by the client port each case connected from.
    const byPort = new Map<number, FuzzCase>();
    for (const [fuzzCase, outcome] of outcomes) if (fuzzCase.proxy === (proxy.tls ? 'tls' : 'plain')) byPort.set(outcome.localPort, fuzzCase);
    const lines: string[] = [];
    let knownDefect: number | undefined;
    for (const session of await proxy.sessionClientPorts().catch(() => [])) {
      const fuzzCase = byPort.get(session.port);
      if (!fuzzCase) continue;
      knownDefect ??= fuzzCase.knownDefect;
      lines.push(formatCase(fuzzCase), `  session: ${session.row}`);
    }
    this.fail({
      check: 'sessions left behind',
      detail: `mysqlda ${proxy.name} after ${label}: open ${counts.open}, closing ${counts.closing} ${SETTLE_MS / 1000} s after every fuzz socket closed (baseline open ${baseline.open}, closing ${baseline.closing})`,
      cases: lines,
      knownDefect,
    });
    // Later batches are measured from here, so each leak is reported once.
    this.baseline.set(proxy, counts);
  }

  private async checkRss(proxy: FuzzProxy, label: string): Promise<void> {
    if (!proxy.alive) return;
    const rss = await proxy.rss();
    if (proxy === this.env.plain) {
      this.rss.last = rss;
      this.rss.max = Math.max(this.rss.max, rss);
      this.rss.warm ||= rss;
    }
    const warm = this.warmRss.get(proxy);
    if (warm === undefined) {
      this.warmRss.set(proxy, rss);
      return;
    }
    if (rss > warm + RSS_SLACK_BYTES) {
      this.fail({ check: 'rss', detail: `mysqlda ${proxy.name} after ${label}: RSS ${mb(rss)}, more than ${mb(RSS_SLACK_BYTES)} above its level after the first batch (${mb(warm)})`, cases: [] });
    }
  }
}

/** Each known defect (fixed on other branches) and each defect this suite found, reproduced alone so its check names it. */
async function probeKnownDefects(env: FuzzEnvironment, options: CampaignOptions, checker: BatchChecker, fail: (failure: Failure) => void): Promise<void> {
  const r = new Prng(options.seed);
  const probe = (index: number, body: Pick<FuzzCase, 'kind' | 'chunks' | 'ending' | 'knownDefect'>, stage: FuzzCase['stage']): FuzzCase => ({
    seed: options.seed,
    index,
    place: stage,
    stage,
    tls: false,
    proxy: 'plain',
    early: false,
    key: 'fz-probe',
    marker: 'fz-probe',
    ...body,
  });
  const report = (fuzzCase: FuzzCase, outcome: CaseOutcome) => {
    if (outcome.problem) fail({ check: 'case', detail: outcome.problem, cases: [formatCase(fuzzCase)], knownDefect: fuzzCase.knownDefect });
  };

  // (1) COM_BINLOG_DUMP_GTID + COM_QUIT + one byte, then close: the session must still end.
  const gtid = probe(-1, binlogDumpGtidThenQuit(r), 'routed');
  const gtidOutcome = await playCase(gtid, env.target(gtid));
  report(gtid, gtidOutcome);
  await checker.afterBatch('probe of known defect 1', new Map([[gtid, gtidOutcome]]), false);

  // (1) again with a dump the server serves (binlog events, then it waits for more): harmless to the sandbox, which
  // writes a binlog anyway, but it keeps the response open, so only the session's own close can end it.
  const dumpRequest = Buffer.concat([Buffer.from([0x12]), u32(4), u16(0), u32(4242)]);
  const dump = probe(-7, { kind: 'binlog-dump-quit', chunks: [Buffer.concat([frame(query('set @master_binlog_checksum = @@global.binlog_checksum'), 0), frame(dumpRequest, 0), frame(command(0x01), 0), Buffer.from([0x00])])], ending: 'end', knownDefect: 1 }, 'routed');
  const dumpOutcome = await playCase(dump, env.target(dump));
  report(dump, dumpOutcome);
  await checker.afterBatch('probe of known defect 1 with a served binlog dump', new Map([[dump, dumpOutcome]]), false);

  // (2) An admin command (COM_DEBUG, harmless to the sandbox) must be refused by mysqlda, not passed on.
  const debug = probe(-2, { kind: 'admin-command-com-debug', chunks: [frame(Buffer.from([0x0d]), 0)], ending: 'err', knownDefect: 2 }, 'routed');
  report(debug, await playCase(debug, env.target(debug)));

  // (3) A 16 MB packet before login must cost little CPU.
  const big = probe(-3, sixteenMegabyteResponse(r), 'pre-login');
  const cpuBefore = await env.plain.cpuSeconds();
  report(big, await playCase(big, env.target(big)));
  await checker.checkFreshClient(env.plain, 'probe of known defect 3');
  const cpu = (await env.plain.cpuSeconds()) - cpuBefore;
  if (cpu > SIXTEEN_MB_CPU_SECONDS) {
    fail({ check: 'cpu', detail: `one 16 MB packet before login cost mysqlda ${cpu.toFixed(2)} s of CPU (bound ${SIXTEEN_MB_CPU_SECONDS} s)`, cases: [formatCase(big)], knownDefect: 3 });
  }

  // Found by this suite: a session closed while mysqlda prepares its statement (COM_STMT_PREPARE runs aside of the
  // splice) gives the backend connection back with the answer still on its way; the next session reads it.
  // Whether the close overtakes the prepare is a race inside the proxy: a few tries.
  const closing = probe(-5, { kind: 'prepare-then-close', chunks: [frame(command(0x16, Buffer.from('select \x80', 'latin1')), 0)], ending: 'destroy' }, 'routed');
  const next = probe(-6, { kind: 'next-session-after-prepare-then-close', chunks: [frame(query("select 'fz-probe'"), 0)], ending: 'answer' }, 'routed');
  for (let attempt = 1; attempt <= 50; attempt++) {
    report(closing, await playCase(closing, env.target(closing)));
    const nextOutcome = await playCase(next, env.target(next));
    if (!nextOutcome.problem) continue;
    fail({ check: 'stale answer', detail: `the session after one closed during its COM_STMT_PREPARE (try ${attempt}): ${nextOutcome.problem}`, cases: [formatCase(closing), formatCase(next)] });
    break;
  }

  // (4) A failed login with a 1 MB user name must not write the name to the log.
  const user = Buffer.alloc(1 << 20, 'u');
  const flood = probe(-4, { kind: 'huge-user-failed-login', chunks: [frame(handshakeResponse({ capabilities: CLIENT_CAPABILITIES, user, authResponse: r.bytes(20), plugin: 'mysql_native_password' }), 1)], ending: 'close', knownDefect: 4 }, 'pre-login');
  const logBefore = await env.plain.logSize();
  report(flood, await playCase(flood, env.target(flood)));
  // The refusal is logged as the session closes; a fresh client's login comes after it in the same process.
  await checker.checkFreshClient(env.plain, 'probe of known defect 4');
  const logged = (await env.plain.logSize()) - logBefore;
  if (logged > FAILED_LOGIN_LOG_BYTES) {
    fail({ check: 'log size', detail: `one failed login with a 1 MB user name wrote ${logged} bytes to the log (bound ${FAILED_LOGIN_LOG_BYTES})`, cases: [formatCase(flood)], knownDefect: 4 });
  }
}
