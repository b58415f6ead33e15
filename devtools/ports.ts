/**
 * Loopback ports for servers of our own (npm start's tests, the throwaway servers, the bench's Redis Cluster): one
 * the kernel picked free, and whether anything listens on one. Never a fixed port: runs share the machine.
 */
import { once } from 'node:events'
import { connect, createServer } from 'node:net'

/** A port nobody listens on right now: the kernel picked it free, and we let it go again. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** `count` distinct free ports: a port let go may be handed out again at once, so each one is checked against the others. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/** Does something take a TCP connection on 127.0.0.1:`port`? */
export const isListening = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})
