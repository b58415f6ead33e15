/**
 * `(request) → answer`, where the requests made in the same turn of the event loop are answered by one
 * call of `run` (one query or command instead of one per request), sent when the turn's I/O is done
 * (setImmediate: the same moment ioredis' auto-pipelining flushes). A request waits no longer than its
 * own call would have waited for the turn to end. On this project's 2-core box a PostgreSQL round trip
 * costs its backend about 50 µs of CPU whatever it asks, and the API about 20 µs; a detail page's own
 * work is a few µs. Votes go the same way, one vote.lua call per shard (shared/redis/vote-script.ts).
 *
 * `run` answers every request, in the order given; if it fails, every request of the batch fails with it.
 * At most `maxPerCall` requests go in one call; more in one turn go as several calls.
 *
 * Two options serve the vote path, which must cost no more per vote than a batcher of its own:
 * - `groups`: `of(request)` names each request's group (0 .. count - 1, e.g. a Redis shard) and `run` gets one
 *   group's requests at a time: a call never mixes groups. A turn looks only at the groups that have requests,
 *   in the order their first request came, not at every group (up to 1024 shards).
 * - `answers`: turns what `run` resolved to (a raw reply) into one answer per request, in the same step that
 *   hands the answers out, so parsing adds no promise hop of its own.
 * Nothing is allocated per request beyond its promise: the requests and their resolve/reject functions wait in
 * parallel arrays, and a group's arrays go to `run` as they are unless the turn brought more than `maxPerCall`.
 */
export interface TurnBatchOptions<Q> {
  /** Requests per call of `run`; default 100. */
  maxPerCall?: number
  /** How many groups there are and which one a request is in; default one group. */
  groups?: { count: number; of: (request: Q) => number }
}

export interface TurnBatchParsing<Q, A, R> extends TurnBatchOptions<Q> {
  answers: (result: R, requests: number) => A[]
}

const ONE_GROUP = { count: 1, of: () => 0 }

type Rejects = ((err: unknown) => void)[]
// Outside the batcher, so a batch creates no named closure (tsx, which runs the services, names each one it makes).
function rejectAll(rejects: Rejects, err: unknown) {
  for (const reject of rejects) reject(err)
}

type Run<Q, R> = (requests: Q[], group: number) => Promise<R>

export function batchPerTurn<Q, A>(run: Run<Q, A[]>, options?: number | TurnBatchOptions<Q>): (request: Q) => Promise<A>
export function batchPerTurn<Q, A, R>(run: Run<Q, R>, options: TurnBatchParsing<Q, A, R>): (request: Q) => Promise<A>
export function batchPerTurn<Q, A, R>(
  run: Run<Q, R>, options: number | TurnBatchOptions<Q> | TurnBatchParsing<Q, A, R> = {}
): (request: Q) => Promise<A> {
  const { maxPerCall = 100, groups: { count: groups, of: groupOf } = ONE_GROUP } =
    typeof options === 'number' ? { maxPerCall: options } : options
  const answersOf = typeof options === 'object' && 'answers' in options ? options.answers : (result: R) => result as unknown as A[]
  const requestsOf: Q[][] = Array.from({ length: groups }, () => [])
  const resolvesOf: ((answer: A) => void)[][] = Array.from({ length: groups }, () => [])
  const rejectsOf: Rejects[] = Array.from({ length: groups }, () => [])
  // The groups with requests waiting, in the order their first request came; the flush is scheduled when the first joins.
  let pending: number[] = []

  const send = (group: number, requests: Q[], resolves: ((answer: A) => void)[], rejects: Rejects) => {
    let call: Promise<R>
    try {
      call = run(requests, group)
    } catch (err) {
      // A throw here would escape setImmediate and end the process: it fails the batch like a rejection.
      rejectAll(rejects, err)
      return
    }
    call.then((result) => {
      let answers: A[]
      try {
        answers = answersOf(result, requests.length)
        if (answers.length !== requests.length) throw new Error(`batchPerTurn: ${requests.length} requests, ${answers.length} answers`)
      } catch (err) {
        rejectAll(rejects, err)
        return
      }
      for (let i = 0; i < resolves.length; i++) resolves[i]!(answers[i]!)
    }, (err: unknown) => rejectAll(rejects, err))
  }

  const flush = () => {
    const due = pending
    pending = []
    for (const group of due) {
      const requests = requestsOf[group]!
      const resolves = resolvesOf[group]!
      const rejects = rejectsOf[group]!
      requestsOf[group] = []
      resolvesOf[group] = []
      rejectsOf[group] = []
      if (requests.length <= maxPerCall) {
        send(group, requests, resolves, rejects)
        continue
      }
      for (let i = 0; i < requests.length; i += maxPerCall) {
        send(group, requests.slice(i, i + maxPerCall), resolves.slice(i, i + maxPerCall), rejects.slice(i, i + maxPerCall))
      }
    }
  }

  return (request: Q) => new Promise<A>((resolve, reject) => {
    const group = groupOf(request)
    const requests = requestsOf[group]
    if (requests === undefined) throw new RangeError(`batchPerTurn: group ${group} is not in 0..${groups - 1}`)
    if (requests.length === 0) {
      if (pending.length === 0) setImmediate(flush)
      pending.push(group)
    }
    requests.push(request)
    resolvesOf[group]!.push(resolve)
    rejectsOf[group]!.push(reject)
  })
}
