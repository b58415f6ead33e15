import fp from 'fastify-plugin'

/**
 * The response headers a JSON API needs, set once per reply from one frozen object. Replaces
 * @fastify/helmet, which set a dozen headers per reply (about 9% of the vote route's CPU), most of
 * them about how browsers render HTML documents, which this API does not serve outside /docs:
 * - nosniff: a browser never runs a JSON body as a script or renders it as HTML;
 * - frame-ancestors 'none' / X-Frame-Options DENY: no page of ours may be framed (clickjacking);
 * - no-referrer: a link followed from the docs page tells the other site nothing of ours.
 * Strict-Transport-Security is left to the TLS-terminating proxy: over plain http it means nothing,
 * and a wrong max-age on a shared host name is hard to take back. /docs sets its own CSP on top.
 */
export const SECURITY_HEADERS = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
})

export default fp(async (app) => {
  app.addHook('onRequest', (req, reply, done) => {
    reply.headers(SECURITY_HEADERS)
    // One id follows a request through the logs and back to the caller.
    reply.header('x-request-id', req.id)
    done()
  })
}, { name: 'security-headers' })
