import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GaleraCluster, type GaleraNode } from '../../tools/sandbox/galera.js';
import { removeTree } from '../../tools/sandbox/tree.js';

let dir: string;
let cluster: GaleraCluster;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-galera-'));
  cluster = await GaleraCluster.start({ baseDir: dir, nodes: 3 });
  await cluster.nodes[0].query('CREATE DATABASE galera_test');
  await cluster.nodes[0].query('CREATE TABLE galera_test.t (id INT NOT NULL PRIMARY KEY, node VARCHAR(16) NOT NULL)');
});

afterAll(async () => {
  await cluster?.stop();
  if (dir && !process.env.MYSQLDA_KEEP_SANDBOX) await removeTree(dir);
});

/** A read that waits until the node has applied every write the cluster committed before it (wsrep_sync_wait). */
async function rowsOn(node: GaleraNode): Promise<Array<{ id: number; node: string }>> {
  await node.query('SET SESSION wsrep_sync_wait = 1');
  return node.query('SELECT id, node FROM galera_test.t ORDER BY id');
}

describe('GaleraCluster', () => {
  it('starts three nodes, each ready and synced in a cluster of three', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.addresses()).size).toBe(3);
    for (const node of cluster.nodes) {
      expect(await node.status()).toEqual({ ready: true, clusterSize: 3, state: 'Synced' });
      const [row] = await node.query("SHOW VARIABLES LIKE 'binlog_format'");
      expect(row.Value).toBe('ROW');
    }
  });

  it('lets node 3 read a row written on node 1', async () => {
    await cluster.nodes[0].query("INSERT INTO galera_test.t VALUES (1, 'galera1')");
    expect(await rowsOn(cluster.nodes[2])).toEqual([{ id: 1, node: 'galera1' }]);
  });

  it('keeps serving writes with a node SIGKILLed, and the node rejoins with what it missed', async () => {
    const [first, second, third] = cluster.nodes;
    await cluster.kill(third);
    expect(third.running).toBe(false);
    await cluster.waitUntilSynced([first, second], 2);
    await second.query("INSERT INTO galera_test.t VALUES (2, 'galera2')");

    await cluster.restart(third);
    expect(await third.status()).toEqual({ ready: true, clusterSize: 3, state: 'Synced' });
    expect(await rowsOn(third)).toEqual([
      { id: 1, node: 'galera1' },
      { id: 2, node: 'galera2' },
    ]);
    await third.query("INSERT INTO galera_test.t VALUES (3, 'galera3')");
    expect((await rowsOn(first)).map((row) => row.id)).toEqual([1, 2, 3]);
  });

  it('rejoins the node that bootstrapped the cluster after it is SIGKILLed', async () => {
    const [first, second] = cluster.nodes;
    await cluster.kill(first);
    await cluster.waitUntilSynced(cluster.nodes.slice(1), 2);
    await second.query("INSERT INTO galera_test.t VALUES (4, 'galera2')");
    await cluster.restart(first);
    expect((await rowsOn(first)).map((row) => row.id)).toEqual([1, 2, 3, 4]);
  });
});
