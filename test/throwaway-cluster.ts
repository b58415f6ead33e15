/**
 * A throwaway Redis Cluster for tests: 3 masters and 3 replicas on free loopback ports, nothing kept on
 * disk but each node's cluster config in a temp dir; every node killed by PID and the dir removed when
 * the test ends. The machine's own Redis is never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { Redis } from 'ioredis'
import { runOrThrow } from '../launcher/exec.js'
import { waitFor } from './helpers.js'
import { startProcess, stopProcess, type Started } from './processes.js'
import { freePort } from './throwaway.js'

export interface ClusterNode {
  host: string
  port: number
  /** The node's cluster id (CLUSTER MYID). */
  id: string
  process: Started
}

export interface ThrowawayCluster {
  /** Every node started, killed ones too, in start order. */
  nodes: ClusterNode[]
  /** host:port of every node, as a Cluster client's start-up list. */
  startupNodes: { host: string; port: number }[]
  /** The nodes still running. */
  live(): ClusterNode[]
  /** The node that serves `slot` now, as the cluster itself says. */
  masterOf(slot: number): Promise<ClusterNode>
  /** The replica of `master` (one per master here): the node that takes over when the master dies. */
  replicaOf(master: ClusterNode): Promise<ClusterNode>
  /** SIGKILL a master; returns its replica, which takes over once the others agree it failed. */
  killMaster(master: ClusterNode): Promise<ClusterNode>
  /**
   * Move one slot, keys and all, to another master the way redis-cli's reshard does: IMPORTING on the target,
   * MIGRATING on the source, MIGRATE the keys in pages, then every master is told the slot's new owner.
   * Clients meanwhile get ASK (a key already moved) and TRYAGAIN (a command whose keys are split between the two).
   */
  moveSlot(slot: number, to: ClusterNode): Promise<{ keys: number }>
  /** Until every live node says cluster_state:ok and `promoted` (if given) calls itself a master. */
  waitUntilHealthy(opts?: { promoted?: ClusterNode; timeoutMs?: number }): Promise<void>
  /** A plain connection to one node (closed when the test ends), for inspection. */
  admin(node: ClusterNode): Redis
}

/**
 * Failure detection in about a second instead of the 15 s default, and a replica may always take over
 * (validity factor 0): a test cluster is young, and a replica that lags a little must still be promoted.
 * A replica's first sync starts at once (diskless sync waits 5 s by default for more replicas to join).
 */
const NODE_TIMEOUT_MS = 1000

/** Two distinct free ports for a node: its client port and its cluster bus port (default +10000 may not be free or even valid). */
async function nodePorts(taken: Set<number>): Promise<[number, number]> {
  const pick = async () => {
    for (;;) {
      const port = await freePort()
      if (!taken.has(port)) { taken.add(port); return port }
    }
  }
  return [await pick(), await pick()]
}

export async function throwawayCluster(t: TestContext, { masters = 3, replicasPerMaster = 1 } = {}): Promise<ThrowawayCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cluster-'))
  const nodes: ClusterNode[] = []
  const admins = new Map<number, Redis>()
  // One hook, whatever order node:test runs hooks in: every node dies by its PID (startProcess' own hook
  // would too), then the connections close, then the dir goes.
  t.after(async () => {
    await Promise.all(nodes.map((n) => stopProcess(n.process, 'SIGKILL')))
    for (const redis of admins.values()) redis.disconnect()
    rmSync(dir, { recursive: true, force: true })
  })

  const admin = (node: ClusterNode) => {
    let redis = admins.get(node.port)
    if (!redis) {
      // No retries: a poll against a node that is down fails at once and is asked again next round.
      redis = new Redis(node.port, node.host, { maxRetriesPerRequest: 0, retryStrategy: () => 200, enableOfflineQueue: true })
      redis.on('error', () => {})
      admins.set(node.port, redis)
    }
    return redis
  }

  const taken = new Set<number>()
  const count = masters * (1 + replicasPerMaster)
  for (let i = 0; i < count; i++) {
    const [port, busPort] = await nodePorts(taken)
    const process_ = startProcess(t, 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--cluster-replica-validity-factor', '0', '--repl-diskless-sync-delay', '0', '--save', '', '--appendonly', 'no', '--dir', dir,
    ], { env: process.env })
    nodes.push({ host: '127.0.0.1', port, id: '', process: process_ })
  }
  for (const node of nodes) {
    node.id = await waitFor(async () => {
      if (node.process.child.exitCode !== null) throw new Error(`redis-server exited: ${node.process.output()}`)
      return String(await admin(node).call('CLUSTER', 'MYID'))
    }, { intervalMs: 50, what: `redis-server on ${node.port} to answer` })
  }
  // Timeouts only bound a stuck create; it returns once every node agrees on the slots.
  await runOrThrow('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`),
    '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'])

  const live = () => nodes.filter((n) => n.process.child.exitCode === null && n.process.child.signalCode === null)
  const byId = (id: string) => {
    const node = nodes.find((n) => n.id === id)
    if (!node) throw new Error(`no node with id ${id}`)
    return node
  }
  /** CLUSTER NODES as one node sees it: id, flags, master id per line. */
  const clusterNodes = async (from: ClusterNode) => String(await admin(from).call('CLUSTER', 'NODES')).trim().split('\n').map((line) => {
    const [id, , flags, masterId] = line.split(' ')
    return { id: id!, flags: flags!.split(','), masterId: masterId! }
  })

  const cluster: ThrowawayCluster = {
    nodes,
    startupNodes: nodes.map(({ host, port }) => ({ host, port })),
    live,
    admin,
    async masterOf(slot) {
      const ranges = await admin(live()[0]!).call('CLUSTER', 'SLOTS') as [number, number, [string, number, string]][]
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)
      if (!range) throw new Error(`slot ${slot} is served by no node`)
      return byId(range[2][2])
    },
    async replicaOf(master) {
      // Polled: on a busy machine the master may learn of its replica by gossip a moment after the cluster is ok.
      const replica = await waitFor(async () => (await clusterNodes(master)).find((n) => n.masterId === master.id),
        { timeoutMs: 10_000, intervalMs: 100, what: `a replica of master ${master.port}` })
      return byId(replica.id)
    },
    async killMaster(master) {
      const replica = await cluster.replicaOf(master)
      admins.get(master.port)?.disconnect()
      admins.delete(master.port)
      await stopProcess(master.process, 'SIGKILL')
      return replica
    },
    async moveSlot(slot, to) {
      const from = await cluster.masterOf(slot)
      if (from.port === to.port) throw new Error(`slot ${slot} is on ${to.port} already`)
      await admin(to).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id)
      await admin(from).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id)
      let moved = 0
      for (;;) {
        const keys = await admin(from).call('CLUSTER', 'GETKEYSINSLOT', slot, 100) as string[]
        if (keys.length === 0) break
        await admin(from).call('MIGRATE', to.host, to.port, '', 0, 5000, 'KEYS', ...keys)
        moved += keys.length
      }
      // The target first, then the source (as redis-cli does), then the other masters learn it by gossip or from this.
      await admin(to).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
      await admin(from).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
      for (const node of live()) {
        if (node.port === to.port || node.port === from.port) continue
        const self = (await clusterNodes(node)).find((n) => n.flags.includes('myself'))
        if (self?.flags.includes('master')) await admin(node).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
      }
      return { keys: moved }
    },
    async waitUntilHealthy({ promoted, timeoutMs = 20_000 } = {}) {
      await waitFor(async () => {
        for (const node of live()) {
          const info = String(await admin(node).call('CLUSTER', 'INFO'))
          if (!info.includes('cluster_state:ok')) return false
          // A replica with its link to the master up holds the data a failover would promote.
          const replication = String(await admin(node).call('INFO', 'replication'))
          if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false
        }
        if (promoted) {
          const self = (await clusterNodes(promoted)).find((n) => n.flags.includes('myself'))
          if (!self?.flags.includes('master')) return false
        }
        return true
      }, { timeoutMs, intervalMs: 100, what: promoted ? `${promoted.port} to be promoted and the cluster ok` : 'cluster_state:ok on every node' })
    },
  }
  await cluster.waitUntilHealthy()
  return cluster
}
