/**
 * A throwaway Redis Cluster on free loopback ports: the tests' (3 masters and 3 replicas: failover, resharding)
 * and the bench's (`--redis-cluster N`: N masters, no replicas). Nothing is kept on disk but each node's cluster
 * config in a temp dir; stop() (or killNow(), from an exit handler) kills every node by its PID and removes the
 * dir. The machine's own Redis is never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePorts } from './ports.js'
import { isRunning, startProcess, type Started } from './processes.js'
import { clusterOperations, type ClusterOperations } from './redis-cluster-operations.js'
import { waitFor } from './wait.js'

const SLOTS = 16384
const READY_TIMEOUT_MS = 20_000

export interface ClusterNode {
  host: string
  port: number
  /** Chosen too: the default, port + 10000, may be taken or past 65535. */
  busPort: number
  pid: number
  /** The node's cluster id (CLUSTER MYID). */
  id: string
  process: Started
}

export interface RedisClusterOptions {
  masters: number
  replicasPerMaster?: number
  /**
   * How long a node may be silent before the others count it failed (Redis' default: 15 s). Fault tests want
   * about a second, so a replica takes over at once; the bench keeps the default, so a node busy under load is
   * never failed.
   */
  nodeTimeoutMs?: number
}

export interface RedisCluster extends ClusterOperations {
  /** Every node started, killed ones too, in start order: the masters first. */
  nodes: ClusterNode[]
  /** host:port of every node, as a Cluster client's start-up list. */
  startupNodes: { host: string; port: number }[]
  /** The temp dir of the nodes' cluster configs, removed by stop(). */
  dir: string
  /** Kill every node and wait until each has died, then close the connections and remove the dir. */
  stop(): Promise<void>
  /** Synchronous, for process 'exit': SIGKILL every node still running and remove the dir. */
  killNow(): void
}

/** Slot ranges split as evenly as `redis-cli --cluster create` splits them. */
export function slotRanges(masters: number): [number, number][] {
  return Array.from({ length: masters },
    (_, i) => [Math.round((i * SLOTS) / masters), Math.round(((i + 1) * SLOTS) / masters) - 1])
}

/**
 * A replica may always take over (validity factor 0): a throwaway cluster is young, and a replica that lags a
 * little must still be promoted. A replica's first sync starts at once (diskless sync waits 5 s by default for
 * more replicas to join). Neither changes anything on a cluster without replicas.
 */
const nodeArgs = (dir: string, port: number, busPort: number, nodeTimeoutMs: number | undefined) => [
  '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
  '--cluster-config-file', join(dir, `nodes-${port}.conf`),
  ...(nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(nodeTimeoutMs)]),
  '--cluster-replica-validity-factor', '0', '--repl-diskless-sync-delay', '0',
  '--save', '', '--appendonly', 'no', '--dir', dir,
]

export async function startRedisCluster({ masters, replicasPerMaster = 0, nodeTimeoutMs }: RedisClusterOptions): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cluster-'))
  const nodes: ClusterNode[] = []
  const admins = new Map<number, Redis>()
  const admin = (node: ClusterNode) => {
    let redis = admins.get(node.port)
    if (!redis) {
      // No retries: a poll against a node that is down fails at once and is asked again next round.
      redis = new Redis(node.port, node.host, { maxRetriesPerRequest: 0, retryStrategy: () => 100 })
      redis.on('error', () => {})
      admins.set(node.port, redis)
    }
    return redis
  }
  const disconnect = (node: ClusterNode) => {
    admins.get(node.port)?.disconnect()
    admins.delete(node.port)
  }
  const killNow = () => {
    for (const redis of admins.values()) redis.disconnect()
    admins.clear()
    for (const n of nodes) if (isRunning(n.process.child)) n.process.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  let stopping: Promise<void> | undefined
  const stop = async () => {
    // Every node dies by its PID first, then the connections close, then the dir goes.
    await Promise.all(nodes.map((n) => n.process.kill()))
    killNow()
  }

  try {
    const count = masters * (1 + replicasPerMaster)
    const ports = await freePorts(2 * count)
    for (let i = 0; i < count; i++) {
      const [port, busPort] = [ports[2 * i]!, ports[2 * i + 1]!]
      const started = startProcess('redis-server', nodeArgs(dir, port, busPort, nodeTimeoutMs), { keepChars: 4000 })
      nodes.push({ host: '127.0.0.1', port, busPort, pid: started.child.pid ?? 0, id: '', process: started })
    }
    const exited = (node: ClusterNode) =>
      (isRunning(node.process.child) ? undefined : `redis-server on ${node.port} exited: ${node.process.output()}`)
    const untilEvery = (what: (n: ClusterNode) => string, check: (n: ClusterNode) => Promise<boolean>) =>
      Promise.all(nodes.map((n) =>
        waitFor(() => check(n), { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: what(n), hopeless: () => exited(n) })))
    await untilEvery((n) => `redis-server on ${n.port} to answer`, async (n) => {
      n.id = String(await admin(n).call('CLUSTER', 'MYID'))
      return true
    })

    // Slots assigned by hand, not by `redis-cli --cluster create`: it refuses fewer than 3 masters, and a
    // one-master cluster is the figure that separates the Cluster client's own cost from the spreading.
    // A distinct config epoch per node, as redis-cli sets, so no collision has to be resolved first.
    const ranges = slotRanges(masters)
    await Promise.all(nodes.map(async (n, i) => {
      await admin(n).call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))
      if (i < masters) await admin(n).call('CLUSTER', 'ADDSLOTSRANGE', String(ranges[i]![0]), String(ranges[i]![1]))
    }))
    // MEET names the bus port: without it the node is looked for on port + 10000.
    for (const n of nodes.slice(1)) await admin(nodes[0]!).call('CLUSTER', 'MEET', n.host, String(n.port), String(n.busPort))
    await untilEvery((n) => `node ${n.port} to know all ${count} nodes`,
      async (n) => String(await admin(n).call('CLUSTER', 'INFO')).includes(`cluster_known_nodes:${count}\r\n`))
    // Replica r of master m is node masters + m * replicasPerMaster + r. REPLICATE fails until the replica has
    // heard by gossip that its master is one: asked again, as waitFor takes a failure for "not yet".
    await untilEvery((n) => `node ${n.port} to replicate its master`, async (n) => {
      const i = nodes.indexOf(n)
      if (i < masters) return true
      await admin(n).call('CLUSTER', 'REPLICATE', nodes[Math.floor((i - masters) / replicasPerMaster)]!.id)
      return true
    })

    const cluster: RedisCluster = {
      nodes,
      startupNodes: nodes.map(({ host, port }) => ({ host, port })),
      dir,
      ...clusterOperations({ nodes, admin, disconnect, timeoutMs: READY_TIMEOUT_MS }),
      stop: () => (stopping ??= stop()),
      killNow,
    }
    await cluster.waitUntilHealthy()
    return cluster
  } catch (err) {
    killNow()
    throw err
  }
}
