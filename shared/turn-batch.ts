/**
 * `(request) → answer`, where the requests made in the same turn of the event loop are answered by one
 * call of `run` (one query instead of one per request), sent when the turn's I/O is done (setImmediate,
 * as the vote caller does). A request waits no longer than its own query would have waited for the
 * turn to end. On this project's 2-core box a PostgreSQL round trip costs its backend about 50 µs of
 * CPU whatever it asks, and the API about 20 µs; a detail page's own work is a few µs.
 *
 * `run` answers every request, in the order given; if it fails, every request of the batch fails with it.
 * At most `maxPerCall` requests go in one call; more in one turn go as several calls.
 */
export function batchPerTurn<Q, A>(run: (requests: Q[]) => Promise<A[]>, maxPerCall = 100): (request: Q) => Promise<A> {
  let waiting: { request: Q; resolve: (answer: A) => void; reject: (err: unknown) => void }[] = []

  const send = (batch: typeof waiting) => {
    let call: Promise<A[]>
    try {
      call = run(batch.map((w) => w.request))
    } catch (err) {
      call = Promise.reject(err)
    }
    call.then((answers) => {
      if (answers.length !== batch.length) throw new Error(`batchPerTurn: ${batch.length} requests, ${answers.length} answers`)
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(answers[i]!)
    }).catch((err: unknown) => {
      for (const w of batch) w.reject(err)
    })
  }

  const flush = () => {
    const all = waiting
    waiting = []
    for (let i = 0; i < all.length; i += maxPerCall) send(all.slice(i, i + maxPerCall))
  }

  return (request: Q) => new Promise<A>((resolve, reject) => {
    if (waiting.length === 0) setImmediate(flush)
    waiting.push({ request, resolve, reject })
  })
}
