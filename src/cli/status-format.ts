/**
 * `mysqlda -a status` as text for an operator's terminal. Pure.
 */
import type { DaemonStatus, WorkerStatus } from '../supervisor/control-protocol.js';
import type { ProxyStatus } from '../server.js';

/** 93784 → "1d 2h 3m 4s"; leading zero units are left out. */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  for (const [unit, seconds] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) {
    const count = Math.floor(rest / seconds);
    rest -= count * seconds;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  parts.push(`${rest}s`);
  return parts.join(' ');
}

export function formatStatus(status: DaemonStatus): string {
  const lines = [`mysqlda v${status.version} is running (${status.mode === 'daemon' ? 'daemon' : 'foreground, --no-daemon'})`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(12)} ${value}`);
  const up = `up ${formatDuration(status.uptimeSeconds)}`;
  if (status.workers && status.workers.length > 1) {
    row(status.mode === 'daemon' ? 'supervisor' : 'primary', `pid ${status.pid}, ${up}`);
    const serving = status.workers.filter((worker) => worker.phase === 'serving').length;
    row('workers', `${serving} of ${status.workers.length} serving`);
    for (const worker of status.workers) {
      const sessions = worker.sessions === null ? '' : `, ${worker.sessions} session${worker.sessions === 1 ? '' : 's'}`;
      lines.push(`    #${worker.slot}  ${describeWorker(worker, null)}${sessions}`);
    }
  } else if (status.worker) {
    row('supervisor', `pid ${status.pid}, ${up}`);
    row('worker', describeWorker(status.worker, status.proxy));
  } else {
    row('pid', `${status.pid}, ${up}`);
  }
  row('config', status.configPath);
  row('log file', status.logFile ?? 'stdout');
  const proxy = status.proxy;
  if (proxy === null) {
    lines.push('  not serving: no worker is running at the moment');
    return `${lines.join('\n')}\n`;
  }
  row('listening', proxy.listen);
  const closing = proxy.sessions.closing ? `, ${proxy.sessions.closing} closing` : '';
  row('sessions', `${proxy.sessions.open} open, ${proxy.sessions.routed} routed to a library${closing}`);
  if (proxy.directory) row('directory', describeDirectory(proxy.directory));
  if (proxy.failoverState) row('failover', describeFailoverState(proxy.failoverState));
  lines.push('  libraries', ...libraryTable(proxy).map((line) => `    ${line}`));
  const replication = replicationLines(proxy);
  if (replication.length > 0) lines.push('  replication', ...replication.map((line) => `    ${line}`));
  const failover = proxy.libraries.filter((library) => library.failover && library.failover.phase !== 'serving');
  if (failover.length > 0) {
    lines.push('  failover', ...failover.map((library) => `    ${library.name}  ${library.failover!.mode}: ${library.failover!.phase.replace('_', ' ')}: ${library.failover!.detail ?? ''}`));
  }
  return `${lines.join('\n')}\n`;
}

function describeDirectory(directory: NonNullable<ProxyStatus['directory']>): string {
  const where = `${directory.kind} ${directory.location}`;
  if (directory.available) return `${where}, available since ${directory.since}`;
  return `${where}, UNAVAILABLE since ${directory.since} (new keys get 7107; known keys route): ${directory.lastError ?? 'unknown reason'}`;
}

function describeWorker(worker: WorkerStatus, proxy: ProxyStatus | null): string {
  const parts = [worker.pid === null ? 'no pid' : `pid ${worker.pid}`, worker.phase];
  if (proxy !== null) parts.push(`up ${formatDuration(proxy.uptimeSeconds)}`);
  parts.push(worker.restarts === 1 ? '1 restart' : `${worker.restarts} restarts`);
  const text = parts.join(', ');
  return worker.lastExit === null ? text : `${text} (last exit: ${worker.lastExit})`;
}

/** "state in mysql 10.0.0.9:3306, reachable" (or why not): where each library's current server is kept. */
function describeFailoverState(state: NonNullable<ProxyStatus['failoverState']>): string {
  const where = state.kind === 'files' ? `file ${state.location}` : `${state.kind} ${state.location}`;
  if (state.reachable) return `state in ${where}, reachable`;
  return `state in ${where}, UNREACHABLE since ${state.since} (${state.lastError ?? 'no answer'}): no library fails over`;
}

function libraryTable(proxy: ProxyStatus): string[] {
  // The epoch column appears when the proxy reports epochs (a proxy of an older version does not).
  const epochs = proxy.libraries.some((library) => typeof library.epoch === 'number');
  const header = ['NAME', 'WEIGHT', 'KEYS', ...(epochs ? ['EPOCH'] : []), 'CURRENT SERVER', 'SERVERS'];
  const rows = proxy.libraries.map((library) => [
    library.name,
    String(library.weight),
    String(library.keys),
    ...(epochs ? [String(library.epoch ?? '-')] : []),
    library.currentServer ?? '-',
    library.servers.map((server) => `${server.address} ${server.state}`).join(', '),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column].length)));
  const numeric = new Set(epochs ? [1, 2, 3] : [1, 2]);
  return [header, ...rows].map((cells) =>
    cells
      .map((cell, column) => {
        if (column === cells.length - 1) return cell;
        return numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]);
      })
      .join('  '),
  );
}

/** One line per server whose replication the health check read (each server once). */
function replicationLines(proxy: ProxyStatus): string[] {
  const lines = new Map<string, string>();
  for (const server of proxy.libraries.flatMap((library) => library.servers)) {
    const replication = server.replication;
    if (replication === undefined || lines.has(server.address)) continue;
    if (replication === null) {
      lines.set(server.address, `${server.address}  unknown (no privilege to read the replica status)`);
      continue;
    }
    const gtid = `gtid ${replication.gtidExecuted || '-'}`;
    if (!replication.replicating) {
      lines.set(server.address, `${server.address}  not a replica, ${gtid}`);
      continue;
    }
    const thread = (value: boolean | null) => (value === null ? '?' : value ? 'yes' : 'no');
    const lag = replication.lagSeconds === null ? 'lag unknown' : `lag ${replication.lagSeconds} s`;
    const error = replication.lastError ? `, error: ${replication.lastError}` : '';
    lines.set(server.address, `${server.address}  replica of ${replication.source ?? '?'}, io ${thread(replication.ioRunning)}, sql ${thread(replication.sqlRunning)}, ${lag}, ${gtid}${error}`);
  }
  return [...lines.values()];
}
