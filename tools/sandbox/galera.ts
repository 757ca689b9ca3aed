/**
 * A local Galera cluster of throwaway MariaDB nodes (galera-4) on 127.0.0.1, for the shared directory's tests and
 * the sandbox. Each node is a MariadbServer with the wsrep options added; every node has its own ports for the
 * client protocol, group communication (gmcast), incremental state transfer (IST) and the SST script's receiver.
 *
 * No node ever needs a full state transfer (SST), whose rsync method does not work for a root-run sandbox:
 * - the first node bootstraps the cluster alone (--wsrep-new-cluster) and stops cleanly; its datadir, which then
 *   records the cluster's identity and position, seeds the other nodes; it bootstraps again and the others join
 *   from their copies, catching up the few configuration changes since by IST (incremental state transfer);
 * - a node that was killed has lost its position (grastate.dat says -1): it is recovered from InnoDB first
 *   (--wsrep-recover, as the galera_recovery script does under systemd), and the node rejoins by IST from a peer's
 *   gcache (128 MB here: far more than a test writes while a node is down).
 * wsrep_sst_method stays rsync: even an IST ends with the donor's SST script handing a marker file to the joiner.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findFreePort, MariadbServer } from './mariadb-server.js';
import { copyTree, removeTree } from './tree.js';

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

export interface GaleraClusterOptions {
  /** Node datadirs are `<baseDir>/<name>1..N`. */
  baseDir: string;
  /** Default 3. */
  nodes?: number;
  /** Default 'galera'. */
  name?: string;
  /** server_id of the first node; the others follow. Default 101. */
  firstServerId?: number;
  log?: (line: string) => void;
}

interface NodePorts {
  sql: number;
  gmcast: number;
  ist: number;
  sst: number;
}

/** A loaded 2-core machine has taken over 30 s for a joiner's IST. */
const READY_TIMEOUT_MS = 120_000;
const READY_POLL_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One node of the cluster: a MariadbServer and the ports it uses. */
export class GaleraNode {
  constructor(
    readonly index: number,
    readonly server: MariadbServer,
    readonly ports: NodePorts,
  ) {}

  get host(): string {
    return this.server.host;
  }

  get port(): number {
    return this.server.port;
  }

  get name(): string {
    return this.server.name;
  }

  get running(): boolean {
    return this.server.running;
  }

  query(sql: string, params?: unknown[]): Promise<any> {
    return this.server.query(sql, params);
  }

  /** wsrep_ready, wsrep_cluster_size and wsrep_local_state_comment as this node sees them. */
  async status(): Promise<{ ready: boolean; clusterSize: number; state: string }> {
    const rows = (await this.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_size', 'wsrep_local_state_comment')",
    )) as Array<{ Variable_name: string; Value: string }>;
    const value = (name: string) => rows.find((row) => row.Variable_name === name)?.Value ?? '';
    return { ready: value('wsrep_ready') === 'ON', clusterSize: Number(value('wsrep_cluster_size')), state: value('wsrep_local_state_comment') };
  }
}

export class GaleraCluster {
  private constructor(
    readonly nodes: GaleraNode[],
    readonly clusterName: string,
  ) {}

  /** Starts the nodes one after the other and resolves once every one is Synced in a cluster of all of them. */
  static async start(options: GaleraClusterOptions): Promise<GaleraCluster> {
    assertGaleraInstalled();
    const log = options.log ?? (() => {});
    const count = options.nodes ?? 3;
    const clusterName = options.name ?? 'galera';
    const firstServerId = options.firstServerId ?? 101;
    if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be ≥ 1, not ${count}`);
    const baseDir = resolve(options.baseDir);
    await mkdir(baseDir, { recursive: true });

    const ports: NodePorts[] = [];
    for (let i = 0; i < count; i++) {
      ports.push({ sql: await findFreePort(), gmcast: await findFreePort(), ist: await findFreePort(), sst: await findFreePort() });
    }
    const clusterAddress = `gcomm://${ports.map((p) => `127.0.0.1:${p.gmcast}`).join(',')}`;
    const nodes: GaleraNode[] = [];
    const cluster = new GaleraCluster(nodes, clusterName);
    const seedDataDir = join(baseDir, `${clusterName}-seed`);
    const serverOptions = (i: number) => ({
      baseDir,
      name: `${clusterName}${i + 1}`,
      port: ports[i].sql,
      serverId: firstServerId + i,
      extraArgs: nodeArgs(clusterName, clusterAddress, `${clusterName}${i + 1}`, ports[i]),
      prepareDataDir: openToRsyncDaemon,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    try {
      // The first node bootstraps the cluster alone and stops cleanly: its datadir then records the cluster's
      // identity and position, and is the seed of the others, which catch up from there by IST.
      const first = await MariadbServer.start({ ...serverOptions(0), extraStartArgs: ['--wsrep-new-cluster'] });
      nodes.push(new GaleraNode(0, first, ports[0]));
      await cluster.waitUntilSynced(nodes, 1);
      await first.stop();
      await removeTree(seedDataDir);
      await copyTree(first.dataDir, seedDataDir);
      // gvwstate.dat names the node itself; the gcache and the log are the first node's own too.
      for (const file of ['gvwstate.dat', 'galera.cache', 'error.log']) await rm(join(seedDataDir, file), { force: true });
      await first.restart(['--wsrep-new-cluster']);
      const others = await Promise.allSettled(
        Array.from({ length: count - 1 }, (_, k) => MariadbServer.start({ ...serverOptions(k + 1), seedDataDir })),
      );
      others.forEach((result, k) => {
        if (result.status === 'fulfilled') nodes.push(new GaleraNode(k + 1, result.value, ports[k + 1]));
      });
      const failed = others.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      await cluster.waitUntilSynced(nodes, count);
      for (const node of nodes) log(`${node.name}: 127.0.0.1:${node.port} (gmcast ${node.ports.gmcast}, datadir ${node.server.dataDir})`);
    } catch (error) {
      await Promise.all(nodes.map((node) => node.server.kill()));
      throw error;
    }
    return cluster;
  }

  /** SIGKILLs a node (no clean leave: the others see it vanish) and resolves once it has exited. */
  async kill(node: GaleraNode): Promise<void> {
    await node.server.kill('SIGKILL');
  }

  /**
   * Starts a stopped node on its datadir again; resolves once it is Synced and the cluster has every running node.
   * A node that was killed does not know its position (grastate.dat says -1): it is read from InnoDB first
   * (--wsrep-recover, as galera_recovery does for systemd), so the node asks for the writes it missed by IST.
   */
  async restart(node: GaleraNode): Promise<void> {
    const recovery = await node.server.runTask(['--wsrep-recover']);
    const position = /WSREP: Recovered position: (\S+)/.exec(recovery)?.[1];
    await node.server.restart(position ? [`--wsrep-start-position=${position}`] : []);
    await this.waitUntilSynced(this.nodes.filter((n) => n.running), this.nodes.filter((n) => n.running).length);
  }

  /** Resolves once each of `nodes` is ready and Synced and sees a cluster of `size`; throws after 60 s. */
  async waitUntilSynced(nodes: readonly GaleraNode[] = this.nodes.filter((n) => n.running), size = nodes.length): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const seen: string[] = [];
      for (const node of nodes) {
        const status = await node.status().catch((error: Error) => ({ ready: false, clusterSize: 0, state: error.message }));
        if (!status.ready || status.clusterSize !== size || status.state !== 'Synced') {
          seen.push(`${node.name}: ready=${status.ready} size=${status.clusterSize} ${status.state}`);
        }
      }
      if (seen.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the Galera cluster did not reach ${size} synced node(s) within ${READY_TIMEOUT_MS / 1000} s: ${seen.join('; ')}`);
      await sleep(READY_POLL_MS);
    }
  }

  /** "host:port" of every node, in order. */
  addresses(): string[] {
    return this.nodes.map((node) => `${node.host}:${node.port}`);
  }

  /** Stops every running node cleanly, the last one last (it then remembers it may bootstrap the cluster). */
  async stop(): Promise<void> {
    for (const node of [...this.nodes].reverse()) await node.server.stop();
  }
}

function nodeArgs(clusterName: string, clusterAddress: string, nodeName: string, ports: NodePorts): string[] {
  const providerOptions = [
    `gmcast.listen_addr=tcp://127.0.0.1:${ports.gmcast}`,
    `ist.recv_addr=127.0.0.1:${ports.ist}`,
    // Room for the writes a killed node misses while it is down, so it rejoins by IST rather than a full SST.
    'gcache.size=128M',
    // The seed node's gcache survives its restart, so the others catch up from it by IST.
    'gcache.recover=yes',
    // Short timeouts: on one machine a node that is gone is gone, and the test should not wait for it for long.
    'evs.suspect_timeout=PT3S',
    'evs.inactive_timeout=PT6S',
    'evs.install_timeout=PT6S',
  ].join(';');
  return [
    '--wsrep-on=ON',
    `--wsrep-provider=${GALERA_PROVIDER}`,
    `--wsrep-cluster-name=${clusterName}`,
    `--wsrep-cluster-address=${clusterAddress}`,
    `--wsrep-node-name=${nodeName}`,
    `--wsrep-node-address=127.0.0.1:${ports.gmcast}`,
    `--wsrep-node-incoming-address=127.0.0.1:${ports.sql}`,
    `--wsrep-sst-receive-address=127.0.0.1:${ports.sst}`,
    `--wsrep-provider-options=${providerOptions}`,
    '--wsrep-sst-method=rsync',
    '--binlog-format=ROW',
    // Galera replicates without a binary log; rsync SST fails to carry one over (wsrep_sst_binlog.tar).
    '--skip-log-bin',
    '--innodb-autoinc-lock-mode=2',
    '--default-storage-engine=InnoDB',
    // What Galera replicates is certified and applied by this many threads on each node.
    '--wsrep-slave-threads=2',
  ];
}

/**
 * Even an IST ends with the donor's SST script sending a marker file to an rsync daemon on the joiner, and rsync
 * run by root serves as 'nobody': when the sandbox runs as root, that user must be able to write the datadir.
 */
async function openToRsyncDaemon(dataDir: string): Promise<void> {
  if (process.getuid?.() === 0) await chmod(dataDir, 0o777);
}

export function assertGaleraInstalled(): void {
  if (!existsSync(GALERA_PROVIDER)) {
    throw new Error(`${GALERA_PROVIDER} not found: install Debian's galera-4 (apt-get install -y galera-4)`);
  }
}
