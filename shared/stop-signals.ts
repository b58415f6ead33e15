/**
 * How a tally process takes its stop signals, written once: the first one begins a graceful stop, a later one
 * cuts it short (exit 1), and so does a graceful stop that outlasts its grace period. Each process says only
 * what its graceful stop does and what it logs on the way out; it exits by itself once the stop is done.
 *
 * Two processes keep a later signal from exiting, each for a reason given where it does so: an API worker
 * ignores it (server/api-workers.ts: one Ctrl-C reaches it twice), and npm start's launcher kills its children
 * at once but still stops the local servers it started before it exits (launcher/supervisor.ts).
 * A lone API process takes its signals through close-with-grace (server/main.ts), which keeps this same rule.
 */

/** Ctrl-C at a terminal, and `docker stop` / `kill`. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const
// SIGHUP as well for node:cluster: a closed terminal sends it to the primary and its workers alike, as Ctrl-C does SIGINT.
export const TERMINAL_STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export type StopSignal = (typeof TERMINAL_STOP_SIGNALS)[number]

export interface StopOnSignalsOptions {
  signals: readonly StopSignal[]
  /** Begins the graceful stop, once: on the first signal, or on the first `stop()`. */
  begin(reason: string): void
  /** How long the graceful stop may take; past it `onTimeout` says why, and the process exits 1. */
  graceMs?: number
  onTimeout?(): void
  /** A request after the first (`count` ≥ 2): the last words before exit 1, or with `exitOnRepeat` false, what it does instead. */
  onRepeat?(reason: string, count: number): void
  /** Default true: a second request exits 1. */
  exitOnRepeat?: boolean
}

export interface StopRequests {
  /** Asks for the stop as a signal would (a message from a supervisor, a child that cannot start): it counts as one. */
  stop(reason: string): void
}

export function stopOnSignals(opts: StopOnSignalsOptions): StopRequests {
  let requests = 0
  const request = (reason: string): void => {
    requests += 1
    if (requests === 1) {
      opts.begin(reason)
      if (opts.graceMs !== undefined) {
        // Unref'd: a process whose stop is done exits by itself; the timer is only for one that does not.
        setTimeout(() => {
          opts.onTimeout?.()
          process.exit(1)
        }, opts.graceMs).unref()
      }
      return
    }
    opts.onRepeat?.(reason, requests)
    if (opts.exitOnRepeat ?? true) process.exit(1)
  }
  for (const signal of opts.signals) process.on(signal, () => request(signal))
  return { stop: request }
}
