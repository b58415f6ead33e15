/**
 * Where Redis is: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES, a comma-separated list
 * of start-up nodes). A start-up node is `host:port` or a redis:// / rediss:// URL; credentials and TLS,
 * given on any URL of the list, apply to every node (a managed cluster has one password and one CA for
 * all of them). The list only has to reach one live node: the client learns the rest from the cluster.
 */
export interface ClusterTarget {
  nodes: { host: string; port: number }[]
  username?: string
  password?: string
  tls: boolean
}

export type RedisTarget = { url: string } | { cluster: ClusterTarget }

const DEFAULT_PORT = 6379

/** The REDIS_CLUSTER_NODES list, parsed; throws an Error naming the entry that is not a node. */
export function parseClusterNodes(list: string): ClusterTarget {
  const target: ClusterTarget = { nodes: [], tls: false }
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const url = parseNode(raw)
    if (url === null) throw new Error(`${JSON.stringify(raw)} is not host:port or a redis:// URL`)
    if (url.protocol === 'rediss:') target.tls = true
    if (url.username !== '') target.username = decodeURIComponent(url.username)
    if (url.password !== '') target.password = decodeURIComponent(url.password)
    // IPv6 hosts come bracketed from URL; net.connect wants them bare.
    target.nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? DEFAULT_PORT : Number(url.port) })
  }
  if (target.nodes.length === 0) throw new Error('expected at least one host:port')
  return target
}

function parseNode(raw: string): URL | null {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `redis://${raw}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return null
  }
  const pathless = url.pathname === '' || url.pathname === '/'
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' && pathless && url.search === '' ? url : null
}

/** The target the settings name: the cluster when REDIS_CLUSTER_NODES is set, else REDIS_URL. */
export function redisTarget(config: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string | undefined }): RedisTarget {
  return config.REDIS_CLUSTER_NODES ? { cluster: parseClusterNodes(config.REDIS_CLUSTER_NODES) } : { url: config.REDIS_URL }
}

/** For logs: where the target points, without credentials. */
export function describeTarget(target: RedisTarget): string {
  if ('url' in target) {
    const url = new URL(target.url)
    url.username = ''
    url.password = ''
    return url.toString()
  }
  return `cluster ${target.cluster.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',')}`
}
