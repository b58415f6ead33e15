import type { FastifyInstance } from 'fastify'

/*
 * Each route's body limit, derived from its body schema, so every documented maximum fits however a real
 * client writes it. Ajv counts maxLength in code points (its `unicode` option, on by default), and one
 * code point is at most 12 bytes on the wire: 4 in raw UTF-8 JSON; 6 as a \uXXXX escape and 12 as an
 * escaped surrogate pair (Python's json.dumps, ensure_ascii by default); 3 per UTF-8 byte, so 12, in
 * application/x-www-form-urlencoded. A fixed limit sized for ASCII refused a 10,000-character description
 * of é (20 KB raw, 60 KB escaped) with 413.
 */

/** The most bytes one character of a body can take in the encodings clients use (above). */
export const MAX_BYTES_PER_CHARACTER = 12
// Room for what the schema does not describe: whitespace of pretty-printed JSON, a trailing newline.
const SLACK_BYTES = 1024
// The longest JSON form of a number ("-1.7976931348623157e+308"), and of true, false and null.
const NUMBER_BYTES = 24
const WORD_BYTES = 5

interface BodySchema {
  type?: unknown
  maxLength?: number
  maxItems?: number
  const?: unknown
  enum?: unknown[]
  anyOf?: BodySchema[]
  oneOf?: BodySchema[]
  properties?: Record<string, BodySchema>
  items?: BodySchema
}

const text = (characters: number) => characters * MAX_BYTES_PER_CHARACTER

/**
 * The most bytes a body valid under `schema` takes, in the widest encoding (counted as JSON with every
 * character at its widest, which also bounds the form encoding: `name=value&` per field). Throws for a
 * string or array without a maximum, which no limit can be derived for: give it maxLength or maxItems.
 */
export function largestBody(schema: BodySchema, path = 'body'): number {
  const choices = schema.anyOf ?? schema.oneOf
  if (choices) return Math.max(...choices.map((s) => largestBody(s, path)))
  if (schema.const !== undefined) return text(JSON.stringify(schema.const).length)
  if (schema.enum) return Math.max(...schema.enum.map((v) => text(JSON.stringify(v).length)))
  switch (schema.type) {
    case 'string':
      if (schema.maxLength === undefined) throw new Error(`${path} is a string without maxLength: its route's body limit cannot be derived`)
      return 2 + text(schema.maxLength)
    case 'integer':
    case 'number': return NUMBER_BYTES
    case 'boolean':
    case 'null': return WORD_BYTES
    case 'array':
      if (schema.maxItems === undefined || !schema.items) {
        throw new Error(`${path} is an array without maxItems: its route's body limit cannot be derived`)
      }
      return 2 + schema.maxItems * (largestBody(schema.items, `${path}[]`) + 1)
    case 'object':
      // Per field: its quoted name, a colon and a comma around the value.
      return 2 + Object.entries(schema.properties ?? {})
        .reduce((n, [name, s]) => n + 2 + text(name.length) + 2 + largestBody(s, `${path}.${name}`), 0)
  }
  throw new Error(`${path} has a type the body limit does not know (${JSON.stringify(schema.type)})`)
}

/** A route's body limit: its largest body with slack, in whole KiB, and never below the server's default. */
export function bodyLimitOf(schema: BodySchema, defaultBytes: number): number {
  return Math.max(defaultBytes, Math.ceil((largestBody(schema) + SLACK_BYTES) / 1024) * 1024)
}

/**
 * Gives every route with a body schema, registered after this, the limit its schema needs (bodyLimitOf),
 * unless the route sets its own. Routes without a body keep the server's default.
 */
export function limitBodiesBySchema(app: FastifyInstance, defaultBytes: number): void {
  app.addHook('onRoute', (route) => {
    const body = route.schema?.body as BodySchema | undefined
    if (body !== undefined && route.bodyLimit === undefined) route.bodyLimit = bodyLimitOf(body, defaultBytes)
  })
}
