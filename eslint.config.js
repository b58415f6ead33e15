// neostandard: the standard style the Fastify ecosystem uses, with typescript-eslint for the .ts files.
// Three of its layout rules are relaxed to the layout this code already had: `function name(` without a
// space, and objects wrapped several properties to a line (as STYLE.md writes them).
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['bench/results/**', 'dist/**', 'client/dist/**', 'node_modules/**'] }),
  {
    rules: {
      '@stylistic/space-before-function-paren': ['error', { anonymous: 'always', named: 'never', asyncArrow: 'always' }],
      '@stylistic/object-property-newline': 'off',
      '@stylistic/object-curly-newline': 'off',
      // `void promise` marks a promise left to run on purpose.
      'no-void': ['error', { allowAsStatement: true }],
      // Long lines hide what a line does in review; 140 leaves room for a signature and its types.
      '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
]
