/**
 * For a process that `npm start` (launcher/supervisor.ts) runs: the supervisor gives each child its own process
 * group, so a terminal's Ctrl-C reaches the supervisor alone and each child hears exactly one SIGTERM from
 * it (two signals would mean "stop now" and abandon the work in hand). The price is that a child no longer
 * dies with its terminal: so it watches the IPC channel the supervisor opens, and stops gracefully, as on
 * SIGTERM, when the supervisor is gone, whatever killed it. Does nothing in a process started by hand.
 */
export function stopWhenSupervisorExits(): void {
  if (!process.channel) return
  // The channel must not keep the process alive by itself.
  process.channel.unref()
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
}
