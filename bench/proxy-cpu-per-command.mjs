#!/usr/bin/env node
// Proxy CPU per statement, side by side: two builds of mysqlda (each a directory holding bin/ and dist/), each with
// its own extra config, in front of one sandbox MariaDB, driven by 32 mysql2 connections sending `select 1`. The
// proxy runs as its own process; its CPU is read from /proc/<pid>/stat (utime + stime) around the measured run.
// Rounds alternate between the two sides so that drift of a shared machine hits both alike. The same tree and
// config on both sides shows what this machine resolves.
//
//   node bench/proxy-cpu-per-command.mjs <tree A> <tree B> [commands=64000] [rounds=3] [config A JSON] [config B JSON]
//
// The sandbox is imported from tree A (dist/sandbox or build/tools/sandbox). Needs mariadbd on PATH.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

const [treeA, treeB, commandsArg = '64000', roundsArg = '3', extraArgA = '{}', extraArgB = '{}'] = process.argv.slice(2);
if (!treeA || !treeB) {
  console.error('usage: node bench/proxy-cpu-per-command.mjs <tree A> <tree B> [commands] [rounds] [config A JSON] [config B JSON]');
  process.exit(2);
}
const commands = Number(commandsArg);
const rounds = Number(roundsArg);
const extras = { A: JSON.parse(extraArgA), B: JSON.parse(extraArgB) };
const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux
const CONNECTIONS = 32;

// Trees from before the sandbox moved out of src/ ship it in dist/; later ones build it into build/tools/.
const sandboxDir = await import(path.resolve(treeA, 'build/tools/sandbox/sandbox.js')).then(
  () => 'build/tools/sandbox',
  () => 'dist/sandbox',
);
const { Sandbox } = await import(path.resolve(treeA, sandboxDir, 'sandbox.js'));
const { findFreePort } = await import(path.resolve(treeA, sandboxDir, 'mariadb-server.js'));

async function cpuTicks(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function measure(tree, sandbox, dir, extra) {
  const port = await findFreePort();
  const configPath = path.join(dir, `mysqlda-${port}.conf`);
  await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: dir, extra }), { mode: 0o600 });
  const child = spawn(process.execPath, [path.resolve(tree, 'bin/mysqlda'), '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'], {
    stdio: 'ignore',
  });
  while (!(await canConnect(port))) await new Promise((resolve) => setTimeout(resolve, 50));
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => mysql.createConnection({ host: '127.0.0.1', port, user: 'calvin', password: 'calvin' })));
  await Promise.all(clients.map((c, i) => c.query(`select library bench${i}`)));
  const work = (n) =>
    Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < n / CONNECTIONS; i++) await c.query('select 1');
      }),
    );
  await work(6400); // warm-up: JIT, pools
  const before = await cpuTicks(child.pid);
  const started = process.hrtime.bigint();
  await work(commands);
  const wallNs = Number(process.hrtime.bigint() - started);
  const ticks = (await cpuTicks(child.pid)) - before;
  await Promise.all(clients.map((c) => c.end()));
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return { cpuUsPerCommand: (ticks / TICKS_PER_SECOND / commands) * 1e6, wallUsPerCommand: wallNs / 1000 / commands };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-cpu-bench-'));
const sandbox = await Sandbox.start({ dir, libraries: 1, replicas: 0 });
try {
  const results = { A: [], B: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, tree] of round % 2 === 0 ? [['A', treeA], ['B', treeB]] : [['B', treeB], ['A', treeA]]) {
      const result = await measure(tree, sandbox, dir, extras[name]);
      results[name].push(result);
      console.log(`round ${round + 1} ${name}: proxy CPU ${result.cpuUsPerCommand.toFixed(2)} µs/command, wall ${result.wallUsPerCommand.toFixed(1)} µs/command`);
    }
  }
  const mean = (list, key) => list.reduce((sum, r) => sum + r[key], 0) / list.length;
  const a = mean(results.A, 'cpuUsPerCommand');
  const b = mean(results.B, 'cpuUsPerCommand');
  console.log(`mean proxy CPU: A ${a.toFixed(2)} µs, B ${b.toFixed(2)} µs per command (B/A ${((b / a - 1) * 100).toFixed(1)}%)`);
  // The least disturbed round of each: on a shared machine, other load only ever adds.
  const least = (list) => Math.min(...list.map((r) => r.cpuUsPerCommand));
  console.log(`least proxy CPU: A ${least(results.A).toFixed(2)} µs, B ${least(results.B).toFixed(2)} µs per command`);
} finally {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
}
