/**
 * A TCP proxy between a client and PostgreSQL that follows the wire protocol's message framing, so a test
 * can act on one statement, picked by its SQL text: lose its reply once PostgreSQL has committed it (the
 * client sees its connection drop and cannot know the COMMIT went through), or hold it back before it
 * reaches PostgreSQL (a client frozen, or a network stalled, between reading its work and sending it).
 * Everything else is relayed as it comes. A throwaway of the test's own, closed when the test ends.
 */
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import type { TestContext } from 'node:test'

export interface PgProxy {
  /** `url` with the proxy's address in place of PostgreSQL's. */
  url: string
  /**
   * The next statement whose SQL matches `sql`: PostgreSQL runs and commits it, but its reply is swallowed;
   * once PostgreSQL says it is ready for the next query (the implicit transaction committed), `then` runs
   * and the client's connection is closed. Resolves then.
   */
  loseNextReply(sql: RegExp, then?: () => void): Promise<void>
  /**
   * The next statement whose SQL matches `sql` is held in the proxy, with whatever the client sends after
   * it on that connection. `held` resolves once it is; `release` sends it on; `answered` resolves once
   * PostgreSQL's reply to it has been relayed.
   */
  holdNext(sql: RegExp): { held: Promise<void>; release(): void; answered: Promise<void> }
}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

/** Splits a byte stream into protocol messages: [type byte][int32 length][body], or an untyped start-up message. */
class Framer {
  private buffered = Buffer.alloc(0)
  constructor(public untyped: boolean) {}
  /** The complete messages so far, each with its type ('' for a start-up message, its code then in `code`). */
  push(chunk: Buffer): { m: Buffer; type: string; code?: number }[] {
    this.buffered = Buffer.concat([this.buffered, chunk])
    const messages: { m: Buffer; type: string; code?: number }[] = []
    for (;;) {
      const head = this.untyped ? 0 : 1
      if (this.buffered.length < head + 4) return messages
      const size = head + this.buffered.readInt32BE(head)
      if (this.buffered.length < size) return messages
      const m = this.buffered.subarray(0, size)
      this.buffered = this.buffered.subarray(size)
      if (this.untyped) {
        const code = m.readInt32BE(4)
        messages.push({ m, type: '', code })
        // After an SSL or GSS request the client sends another start-up message; otherwise typed ones follow.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.untyped = false
      } else {
        messages.push({ m, type: String.fromCharCode(m[0]!) })
      }
    }
  }
}

const cString = (b: Buffer, from: number): [string, number] => {
  const end = b.indexOf(0, from)
  return [b.toString('utf8', from, end), end + 1]
}

/** What a trigger may do to the statement it matched, on that statement's connection. */
interface Matched {
  /** Swallow the statement's reply; once its ReadyForQuery comes (committed), call `then` and close the connection. */
  loseReply(then: () => void): void
  /** Keep the statement and what follows on the connection from PostgreSQL; `answered` once its reply has passed. */
  hold(answered: () => void): void
  release(): void
}

interface Trigger { sql: RegExp; onMatch(statement: Matched): void }

export async function pgProxy(t: TestContext, url: string): Promise<PgProxy> {
  const target = new URL(url)
  const triggers: Trigger[] = []
  const sockets = new Set<Socket>()

  const proxy = createServer((client) => {
    const server = connect(Number(target.port || 5432), target.hostname)
    sockets.add(client).add(server)
    const statements = new Map<string, string>()
    // Replies are matched to requests by counting: the nth ReadyForQuery answers the nth Sync (or simple query,
    // or the start-up). Which reply is swallowed, and what to do when a given one has come.
    let syncs = 0
    let readies = 0
    let swallowed = 0
    const onReady = new Map<number, () => void>()
    let holding: Buffer[] | undefined
    const fromClient = new Framer(true)
    const fromServer = new Framer(false)
    let serverSendsOneByte = false
    const close = () => { client.destroy(); server.destroy() }
    client.on('error', close).on('close', close)
    server.on('error', close).on('close', close)

    // The statement being bound ends with the next Sync: its reply is the ReadyForQuery numbered syncs + 1.
    const matched: Matched = {
      loseReply(then) {
        swallowed = syncs + 1
        onReady.set(swallowed, () => { then(); close() })
      },
      hold(answered) {
        holding = []
        onReady.set(syncs + 1, answered)
      },
      release() {
        const held = holding ?? []
        holding = undefined
        for (const m of held) server.write(m)
      },
    }
    const fire = (sql: string) => {
      const i = triggers.findIndex((tr) => tr.sql.test(sql))
      if (i >= 0) triggers.splice(i, 1)[0]!.onMatch(matched)
    }

    client.on('data', (chunk) => {
      for (const { m, type, code } of fromClient.push(chunk)) {
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) serverSendsOneByte = true
        // The start-up ends with a ReadyForQuery as a Sync does: counted alike, the nth one answers the nth.
        else if (type === '') syncs++
        // A statement is picked at its Bind, where its execution starts: postgres.js parses and describes a
        // new one first (Parse, Describe, Flush) and waits for that reply before it binds.
        if (type === 'P') {
          const [name, at] = cString(m, 5)
          statements.set(name, cString(m, at)[0])
        } else if (type === 'B') {
          const [, at] = cString(m, 5)
          const [name] = cString(m, at)
          if (statements.has(name)) fire(statements.get(name)!)
        } else if (type === 'Q') {
          fire(cString(m, 5)[0])
        }
        if (type === 'S' || type === 'Q') syncs++
        if (holding) holding.push(m)
        else server.write(m)
      }
    })
    server.on('data', (chunk) => {
      if (serverSendsOneByte) {
        serverSendsOneByte = false
        client.write(chunk.subarray(0, 1))
        chunk = chunk.subarray(1)
      }
      for (const { m, type } of fromServer.push(chunk)) {
        const isReady = type === 'Z'
        if (isReady) readies++
        // A message belongs to the reply whose ReadyForQuery is the next one to come.
        if ((isReady ? readies : readies + 1) !== swallowed) client.write(m)
        if (isReady) {
          const hook = onReady.get(readies)
          onReady.delete(readies)
          hook?.()
        }
      }
    })
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  t.after(async () => {
    for (const s of sockets) s.destroy()
    proxy.close()
    await once(proxy, 'close').catch(() => {})
  })
  const via = new URL(url)
  via.hostname = '127.0.0.1'
  via.port = String((proxy.address() as { port: number }).port)

  return {
    url: via.toString(),
    loseNextReply(sql, then = () => {}) {
      return new Promise((resolve) => {
        triggers.push({ sql, onMatch: (statement) => statement.loseReply(() => { then(); resolve() }) })
      })
    },
    holdNext(sql) {
      let statement: Matched | undefined
      let held!: () => void
      let answered!: () => void
      const heldP = new Promise<void>((resolve) => { held = resolve })
      const answeredP = new Promise<void>((resolve) => { answered = resolve })
      triggers.push({ sql, onMatch: (s) => { statement = s; s.hold(answered); held() } })
      return { held: heldP, answered: answeredP, release: () => statement?.release() }
    },
  }
}
