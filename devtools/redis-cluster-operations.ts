/**
 * What a test or the bench asks of a running throwaway Redis Cluster (devtools/redis-cluster.ts): who serves a
 * slot, a master's replica, a master killed, a slot moved, and the wait until the cluster is whole again. Every
 * answer is the cluster's own (CLUSTER SLOTS, CLUSTER NODES), never what was set up: slots move and replicas
 * take over.
 */
import type { Redis } from 'ioredis'
import { isRunning } from './processes.js'
import type { ClusterNode } from './redis-cluster.js'
import { waitFor } from './wait.js'

export interface ClusterOperations {
  /** The nodes still running. */
  live(): ClusterNode[]
  /** A plain connection to one node (closed by the cluster's stop()), for inspection. */
  admin(node: ClusterNode): Redis
  /** The node that serves `slot` now, as the cluster itself says. */
  masterOf(slot: number): Promise<ClusterNode>
  /** The replica of `master` (one per master in the tests'): the node that takes over when the master dies. */
  replicaOf(master: ClusterNode): Promise<ClusterNode>
  /** SIGKILL a master; returns its replica, which takes over once the others agree it failed. */
  killMaster(master: ClusterNode): Promise<ClusterNode>
  /**
   * Move one slot, keys and all, to another master the way redis-cli's reshard does: IMPORTING on the target,
   * MIGRATING on the source, MIGRATE the keys in pages, then every master is told the slot's new owner.
   * Clients meanwhile get ASK (a key already moved) and TRYAGAIN (a command whose keys are split between the two).
   */
  moveSlot(slot: number, to: ClusterNode): Promise<{ keys: number }>
  /**
   * Until every live node says cluster_state:ok, every replica's link to its master is up, and `promoted` (if
   * given) calls itself a master.
   */
  waitUntilHealthy(opts?: { promoted?: ClusterNode; timeoutMs?: number }): Promise<void>
  /** How many of `keys` each master's slots hold, by "host:port": where the shards' streams landed. */
  keysPerNode(keys: readonly string[]): Promise<Record<string, number>>
}

interface Parts {
  nodes: ClusterNode[]
  admin(node: ClusterNode): Redis
  /** Close the connection to a node about to be killed, so no command waits on it. */
  disconnect(node: ClusterNode): void
  timeoutMs: number
}

export function clusterOperations({ nodes, admin, disconnect, timeoutMs: defaultTimeoutMs }: Parts): ClusterOperations {
  const live = () => nodes.filter((n) => isRunning(n.process.child))
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
  const isMaster = async (node: ClusterNode) =>
    (await clusterNodes(node)).find((n) => n.flags.includes('myself'))?.flags.includes('master') ?? false

  const operations: ClusterOperations = {
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
      const replica = await operations.replicaOf(master)
      disconnect(master)
      await master.process.kill()
      return replica
    },
    async moveSlot(slot, to) {
      const from = await operations.masterOf(slot)
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
        if (await isMaster(node)) await admin(node).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
      }
      return { keys: moved }
    },
    async waitUntilHealthy({ promoted, timeoutMs = defaultTimeoutMs } = {}) {
      await waitFor(async () => {
        for (const node of live()) {
          const info = String(await admin(node).call('CLUSTER', 'INFO'))
          if (!info.includes('cluster_state:ok')) return false
          // A replica with its link to the master up holds the data a failover would promote.
          const replication = String(await admin(node).call('INFO', 'replication'))
          if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false
        }
        return promoted ? isMaster(promoted) : true
      }, { timeoutMs, intervalMs: 100,
        what: promoted ? `${promoted.port} to be promoted and the cluster ok` : 'cluster_state:ok on every node' })
    },
    async keysPerNode(keys) {
      const perNode: Record<string, number> = {}
      for (const n of live()) if (await isMaster(n)) perNode[`${n.host}:${n.port}`] = 0
      for (const key of keys) {
        const owner = await operations.masterOf(Number(await admin(live()[0]!).call('CLUSTER', 'KEYSLOT', key)))
        perNode[`${owner.host}:${owner.port}`] = (perNode[`${owner.host}:${owner.port}`] ?? 0) + 1
      }
      return perNode
    },
  }
  return operations
}
