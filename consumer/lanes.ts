/**
 * At most `width` tasks running at once, each started as soon as a lane is free (the batches the loop hands
 * over: consumer/batch-step.ts batchLanes). A consumer applies batches in two lanes by default: while
 * PostgreSQL commits one batch (its backend busy, then waiting for the WAL flush), the other is already
 * being applied on a second connection, and the loop reads the next from Redis meanwhile. Batches may
 * commit out of order; the versioned upsert makes the order irrelevant (consumer/apply.ts), as it does
 * between consumers.
 *
 * A task that fails is reported once, by the next `start` or by `settle`, so the loop handles it where
 * it handled a failed batch before (back off, the batch stays pending and is taken over or redelivered).
 */
export interface Lanes {
  /**
   * Wait for a free lane, then start `task` with that lane's number (0 … width − 1). Resolves once it has
   * started, with `finished`: settled when the task ends, whether it succeeded or not (never rejected: its
   * failure is reported as below). Rejects with the error of a task that failed since the last report
   * instead of starting this one.
   */
  start(task: (lane: number) => Promise<unknown>): Promise<{ finished: Promise<void> }>
  /** Wait for every running task; rejects with the first unreported failure. */
  settle(): Promise<void>
  readonly running: number
}

export function createLanes(width: number): Lanes {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`lanes: width must be a positive integer, got ${width}`)
  const running = new Set<Promise<void>>()
  // Which lanes are free, so a task knows its lane (0 … width − 1) for as long as it runs.
  const free = Array.from({ length: width }, (_, i) => width - 1 - i)
  let failure: { err: unknown } | undefined

  const report = () => {
    const f = failure
    failure = undefined
    if (f) throw f.err
  }

  return {
    async start(task: (lane: number) => Promise<unknown>) {
      while (running.size >= width) await Promise.race(running)
      report()
      const lane = free.pop()!
      const done = () => {
        running.delete(finished)
        free.push(lane)
      }
      const finished: Promise<void> = task(lane).then(done, (err: unknown) => {
        done()
        failure ??= { err }
      })
      running.add(finished)
      return { finished }
    },
    async settle() {
      while (running.size > 0) await Promise.race(running)
      report()
    },
    get running() { return running.size },
  }
}
