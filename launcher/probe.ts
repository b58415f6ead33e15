// Is PostgreSQL / Redis answering at a URL? One round trip in each protocol, no client library, no binaries:
// the answer decides whether npm start may bring a server up there, so it must work on a bare machine too.
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * answers: the server spoke its protocol (even an error reply such as NOAUTH or "starting up": someone runs it).
 * silent:  nothing took the TCP connection (refused or timed out): the port is free for a server of ours.
 * foreign: something took the connection but did not speak the protocol: starting a server there would fail.
 */
export type ProbeResult = 'answers' | 'silent' | 'foreign'

export interface Endpoint { host: string; port: number }

export function endpointOf(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url)
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'   // [::1] → ::1 for net.connect
  return { host, port: parsed.port ? Number(parsed.port) : defaultPort }
}

const CONNECT_TIMEOUT_MS = 1_000
const REPLY_TIMEOUT_MS = 2_000

/** Connects, sends `request`, returns the first bytes of the reply (empty when the peer said nothing in time). */
export function exchange(at: Endpoint, request: Buffer): Promise<{ connected: boolean; reply: Buffer }> {
  return new Promise((resolve) => {
    const socket = connect({ host: at.host, port: at.port })
    let connected = false
    let reply = Buffer.alloc(0)
    const finish = () => { clearTimeout(timer); socket.destroy(); resolve({ connected, reply }) }
    let timer = setTimeout(finish, CONNECT_TIMEOUT_MS)
    socket.on('connect', () => {
      connected = true
      clearTimeout(timer)
      timer = setTimeout(finish, REPLY_TIMEOUT_MS)
      socket.write(request)
    })
    socket.on('data', (chunk: Buffer) => { reply = Buffer.concat([reply, chunk]); finish() })
    socket.on('error', finish)
    socket.on('close', finish)
  })
}

// SSLRequest (length 8, code 80877103): every PostgreSQL server and pooler answers it with one byte, 'S' or 'N',
// before any authentication, so a probe needs neither credentials nor an existing database.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

export async function probePostgres(at: Endpoint): Promise<ProbeResult> {
  const { connected, reply } = await exchange(at, SSL_REQUEST)
  if (!connected) return 'silent'
  const first = String.fromCharCode(reply[0] ?? 0)
  return first === 'S' || first === 'N' || first === 'E' ? 'answers' : 'foreign'
}

// RESP PING: '+PONG', or '-NOAUTH …' / '-LOADING …', which still prove a Redis is there.
const RESP_PING = Buffer.from('*1\r\n$4\r\nPING\r\n')

export async function probeRedis(at: Endpoint): Promise<ProbeResult> {
  const { connected, reply } = await exchange(at, RESP_PING)
  if (!connected) return 'silent'
  const first = String.fromCharCode(reply[0] ?? 0)
  return first === '+' || first === '-' ? 'answers' : 'foreign'
}

/** Polls `probe` until it returns `wanted`; false after `timeoutMs`. */
export async function waitForProbe(probe: () => Promise<ProbeResult>, wanted: ProbeResult, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe() === wanted) return true
    if (Date.now() > deadline) return false
    await sleep(100)
  }
}
