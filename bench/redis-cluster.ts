/**
 * `--redis-cluster N`: a throwaway Redis Cluster of N masters on free loopback ports for one bench run.
 * Nothing is kept on disk but each node's cluster config and log in a temp dir; `stop` (or `killNow`, from
 * an exit handler) kills every node by its PID and removes the dir. The machine's own Redis is never touched.
 *
 * Masters only, no replicas: on a 2-core box a replica only adds the CPU of copying every write (its
 * share would be charged to no request and taken from the processes measured), and tally never reads
 * from a replica (the client sends every command to masters), so it would change no figure but make them noisier.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const SLOTS = 16384
const READY_TIMEOUT_MS = 20_000

export interface BenchClusterNode { host: string; port: number; busPort: number; pid: number }

export interface BenchCluster {
  nodes: BenchClusterNode[]
  /** REDIS_CLUSTER_NODES for every process of the run. */
  startupNodes: string
  /** How many of `keys` each node's slots hold, by "host:port": where the shards' streams landed. */
  keysPerNode(keys: readonly string[]): Promise<Record<string, number>>
  stop(): Promise<void>
  /** Synchronous, for process 'exit': SIGKILL every node still running and remove the dir. */
  killNow(): void
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Slot ranges split as evenly as `redis-cli --cluster create` splits them. */
export function slotRanges(masters: number): [number, number][] {
  return Array.from({ length: masters }, (_, i) => [Math.round((i * SLOTS) / masters), Math.round(((i + 1) * SLOTS) / masters) - 1])
}

/** Poll `probe` (its errors are "not yet") until it answers; `fatal` names a state no wait can mend (a node exited). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, fatal: () => string | undefined = () => undefined): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const dead = fatal()
    if (dead) throw new Error(`redis cluster: ${dead}`)
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`redis cluster: gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function startRedisCluster(masters: number, log: (m: string) => void): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-cluster-'))
  const children: ChildProcess[] = []
  const admins: Redis[] = []
  const killNow = () => {
    for (const a of admins) a.disconnect()
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const taken = new Set<number>()
    const port = async () => { for (;;) { const p = await freePort(); if (!taken.has(p)) { taken.add(p); return p } } }
    const nodes: BenchClusterNode[] = []
    for (let i = 0; i < masters; i++) {
      // The bus port is chosen too: the default, port + 10000, may be taken or past 65535.
      const [client, bus] = [await port(), await port()]
      const child = spawn('redis-server', [
        '--port', String(client), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(bus),
        '--cluster-config-file', join(dir, `nodes-${client}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir,
        '--logfile', join(dir, `${client}.log`),
      ], { stdio: 'ignore' })
      children.push(child)
      await once(child, 'spawn')
      nodes.push({ host: '127.0.0.1', port: client, busPort: bus, pid: child.pid! })
    }
    for (const n of nodes) {
      const admin = new Redis(n.port, n.host, { maxRetriesPerRequest: 0, retryStrategy: () => 100 })
      admin.on('error', () => {})
      admins.push(admin)
    }
    const logTail = (port: number) => { try { return readFileSync(join(dir, `${port}.log`), 'utf8').slice(-2000) } catch { return '(no log)' } }
    const exited = (i: number) => (children[i]!.exitCode === null ? undefined : `redis-server on ${nodes[i]!.port} exited: ${logTail(nodes[i]!.port)}`)
    await Promise.all(nodes.map((n, i) => until(`redis-server on ${n.port}`, async () => ((await admins[i]!.ping()) === 'PONG' ? true : undefined), () => exited(i))))
    // Slots assigned by hand, not by `redis-cli --cluster create`: it refuses fewer than 3 masters, and a
    // one-master cluster is the figure that separates the Cluster client's own cost from the spreading.
    // A distinct config epoch per node, as redis-cli sets, so no collision has to be resolved first.
    const ranges = slotRanges(masters)
    await Promise.all(admins.map(async (a, i) => {
      await a.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))
      await a.call('CLUSTER', 'ADDSLOTSRANGE', String(ranges[i]![0]), String(ranges[i]![1]))
    }))
    // MEET names the bus port: without it the node is looked for on port + 10000.
    for (const n of nodes.slice(1)) await admins[0]!.call('CLUSTER', 'MEET', n.host, String(n.port), String(n.busPort))
    await Promise.all(admins.map((a, i) => until(`node ${nodes[i]!.port} to see cluster_state:ok`, async () => {
      const info = String(await a.call('CLUSTER', 'INFO'))
      return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`) ? true : undefined
    }, () => exited(i))))
    log(`redis cluster: ${masters} master(s) on ${nodes.map((n) => n.port).join(', ')} (pids ${nodes.map((n) => n.pid).join(', ')})`)

    const stop = async () => {
      const exits = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit'))
      killNow()
      await Promise.all(exits)
    }
    return {
      nodes,
      startupNodes: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      async keysPerNode(keys) {
        const out = Object.fromEntries(nodes.map((n) => [`${n.host}:${n.port}`, 0]))
        for (const key of keys) {
          const slot = Number(await admins[0]!.call('CLUSTER', 'KEYSLOT', key))
          const owner = ranges.findIndex(([from, to]) => slot >= from && slot <= to)
          out[`${nodes[owner]!.host}:${nodes[owner]!.port}`]! += 1
        }
        return out
      },
      stop,
      killNow,
    }
  } catch (err) {
    killNow()
    throw err
  }
}
