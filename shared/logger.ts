import type { LoggerOptions } from 'pino'

// Explicit paths, not wildcards over everything: pino's redaction is fast only for known paths.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'access',
  '*.access',
  'refresh',
  '*.refresh',
  'JWT_SECRET',
  '*.JWT_SECRET',
]

export function loggerOptions(level: string, name: string): LoggerOptions {
  return {
    level,
    name,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  }
}
