// Placeholder until the consumer lands (issue 4): keeps npm start's supervisor honest.
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve)
  process.once('SIGINT', resolve)
})
