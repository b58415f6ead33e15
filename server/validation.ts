import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }
/** How an integer must be written in text (query, path, form): plain decimal digits. */
export const DECIMAL = /^-?[0-9]+$/

/** The top-level properties of an object schema that are integers. */
export const integerProperties = (schema: { properties?: Record<string, { type?: unknown }> }) =>
  Object.entries(schema.properties ?? {}).filter(([, s]) => s.type === 'integer').map(([name]) => name)

/**
 * Bodies are validated strictly: "3" is not 3 and unknown fields are refused, so a client bug shows
 * as a 400 instead of a silently different vote. Query strings and params arrive as text and are coerced,
 * but only from plain decimal digits: Ajv's coercion is Number(), which would read "0x10" as 16, "1e2"
 * as 100 and " 7" as 7, so /api/contents/0x10/ would answer for content 16.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false }))
  const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: true }))
  return ({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema as object)
    const validate = coercing.compile(schema as object)
    const integers = integerProperties(schema as never)
    if (integers.length === 0) return validate
    const checked = ((data: Record<string, unknown> | null, ctx?: never) => {
      const bad = integers.find((name) => typeof data?.[name] === 'string' && !DECIMAL.test(data[name] as string))
      if (bad !== undefined) {
        checked.errors = [{
          instancePath: `/${bad}`, schemaPath: '#/type', keyword: 'type', params: { type: 'integer' }, message: 'must be integer',
        } as ErrorObject]
        return false
      }
      const ok = validate(data, ctx)
      checked.errors = validate.errors
      return ok
    }) as ValidateFunction
    // Fastify passes parent data (so Ajv may replace a coerced root) only to functions that carry schemaEnv.
    checked.schemaEnv = validate.schemaEnv
    return checked
  }
}
