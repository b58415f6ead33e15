import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }

/**
 * Bodies are validated strictly: "3" is not 3 and unknown fields are refused, so a client bug shows
 * as a 400 instead of a silently different vote. Query strings and params arrive as text and are coerced.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false }))
  const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: true }))
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object)
}
