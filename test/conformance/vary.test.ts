/**
 * Conformance: Vary and secondary cache keys (cache-tests modules `vary` and `vary-parse`).
 */
import { describe, it } from 'vitest'
import { httpDate, useConformance, type Headers } from './suite.js'

const t = useConformance()

const varied = (vary: string | string[]): Headers => ({
  'cache-control': 'max-age=5000',
  'last-modified': httpDate(-3000),
  date: httpDate(0),
  vary,
})

/** Store a Vary response for `first` request headers, then ask with `second`. */
async function setup(path: string, vary: string | string[], first: Record<string, string> = {}): Promise<void> {
  t.origin.on(path, (_r, n) => ({ headers: varied(vary), body: `${path} #${n}` }))
  await t.send(path, { headers: first })
}

/** Several lines of one request field: undici sends an array as repeated lines. */
const lines = (fields: Record<string, string[]>) => fields as unknown as Record<string, string>

describe('vary: required', () => {
  it("vary-no-match: a Vary response is not reused when the request's field differs", async () => {
    await setup('/vary-no-match', 'Foo', { foo: '1' })
    await t.notCached('/vary-no-match', { headers: { foo: '2' } })
  })

  it('vary-omit-stored: not reused when the stored request lacked the field and this one has it', async () => {
    await setup('/vary-omit-stored', 'Foo')
    await t.notCached('/vary-omit-stored', { headers: { foo: '1' } })
  })

  it('vary-omit: not reused when this request lacks the field the stored one had', async () => {
    await setup('/vary-omit', 'Foo', { foo: '1' })
    await t.notCached('/vary-omit')
  })

  it("vary-2-no-match: a two-field Vary is not reused when one field differs", async () => {
    await setup('/vary-2-no-match', 'Foo, Bar', { foo: '1', bar: 'abc' })
    await t.notCached('/vary-2-no-match', { headers: { foo: '2', bar: 'abc' } })
  })

  it('vary-2-match-omit: a two-field Vary is not reused when the request lacks both fields', async () => {
    await setup('/vary-2-match-omit', 'Foo, Bar', { foo: '1', bar: 'abc' })
    await t.notCached('/vary-2-match-omit')
  })

  it("vary-3-no-match: a three-field Vary is not reused when one field differs", async () => {
    await setup('/vary-3-no-match', 'Foo, Bar, Baz', { foo: '1', bar: 'abc', baz: '789' })
    await t.notCached('/vary-3-no-match', { headers: { foo: '2', bar: 'abc', baz: '789' } })
  })

  it('vary-3-order: ... whatever the order of the request fields', async () => {
    await setup('/vary-3-order', 'Foo, Bar, Baz', { foo: '1', bar: 'abc', baz: '789' })
    await t.notCached('/vary-3-order', { headers: { foo: '1', baz: '789', bar: 'abcde' } })
  })

  it('vary-star: Vary: * is never reused', async () => {
    await setup('/vary-star', '*', { foo: '1', baz: '789' })
    await t.notCached('/vary-star', { headers: { foo: '1', baz: '789' } })
  })
})

describe('vary-parse: required', () => {
  for (const [id, vary] of [
    ['vary-syntax-star', '*'],
    ['vary-syntax-star-star', '*, *'],
    ['vary-syntax-star-star-lines', ['*', '*']],
    ['vary-syntax-empty-star', ', *'],
    ['vary-syntax-empty-star-lines', ['', '*']],
    ['vary-syntax-star-foo', '*, Foo'],
    ['vary-syntax-foo-star', 'Foo, *'],
  ] as const) {
    it(`${id}: Vary ${JSON.stringify(vary)} contains * and is never reused`, async () => {
      await setup(`/${id}`, [...[vary].flat()], { foo: '1', baz: '789' })
      await t.notCached(`/${id}`, { headers: { foo: '1', baz: '789' } })
    })
  }
})

describe('vary: optimal', () => {
  it('vary-match: a Vary response is reused when the request matches', async () => {
    await setup('/vary-match', 'Foo', { foo: '1' })
    await t.cached('/vary-match', { headers: { foo: '1' } })
  })

  it('vary-invalidate: two variants are stored side by side', async () => {
    const path = '/vary-invalidate'
    t.origin.on(path, (r) => ({ headers: varied('Foo'), body: `foo_${String(r.headers.foo)}` }))
    await t.send(path, { headers: { foo: '1' } })
    await t.notCached(path, { headers: { foo: '2' } })
    const got = await t.cached(path, { headers: { foo: '1' } })
    if (got.body !== 'foo_1') throw new Error(`expected the first variant, got ${got.body}`)
  })

  it('vary-cache-key: fields not named in Vary stay out of the key', async () => {
    await setup('/vary-cache-key', 'Foo', { foo: '1', other: '2' })
    await t.cached('/vary-cache-key', { headers: { foo: '1', other: '3' } })
  })

  it('vary-2-match: a two-field Vary is reused when both match', async () => {
    await setup('/vary-2-match', 'Foo, Bar', { foo: '1', bar: 'abc' })
    await t.cached('/vary-2-match', { headers: { foo: '1', bar: 'abc' } })
  })

  it('vary-3-match: a three-field Vary is reused when all match', async () => {
    await setup('/vary-3-match', 'Foo, Bar, Baz', { foo: '1', bar: 'abc', baz: '789' })
    await t.cached('/vary-3-match', { headers: { foo: '1', bar: 'abc', baz: '789' } })
  })

  it('vary-3-omit: reused when both requests lack the same field', async () => {
    await setup('/vary-3-omit', 'Foo, Bar, Baz', { foo: '1', baz: '789' })
    await t.cached('/vary-3-omit', { headers: { foo: '1', baz: '789' } })
  })

  it('vary-normalise-combine: "1, 2" on one line matches 1 and 2 on two lines', async () => {
    await setup('/vary-normalise-combine', 'Foo', { foo: '1, 2' })
    await t.cached('/vary-normalise-combine', { headers: lines({ foo: ['1', '2'] }) })
  })

  it('vary-normalise-lang-order: Accept-Language order does not matter', async () => {
    await setup('/vary-normalise-lang-order', 'Accept-Language', { 'accept-language': 'en, de' })
    await t.cached('/vary-normalise-lang-order', { headers: { 'accept-language': 'de, en' } })
  })

  it('vary-normalise-lang-case: Accept-Language case does not matter', async () => {
    await setup('/vary-normalise-lang-case', 'Accept-Language', { 'accept-language': 'en, de' })
    await t.cached('/vary-normalise-lang-case', { headers: { 'accept-language': 'eN, De' } })
  })

  it('vary-normalise-lang-space: Accept-Language whitespace does not matter', async () => {
    await setup('/vary-normalise-lang-space', 'Accept-Language', { 'accept-language': 'en, de' })
    await t.cached('/vary-normalise-lang-space', { headers: { 'accept-language': ' en ,   de' } })
  })

  // FAILS: corral does not match Accept-Language against the stored Content-Language; a different Accept-Language value goes to the origin.
  it.skip('vary-normalise-lang-select: the stored Content-Language is chosen by the qvalues of Accept-Language', async () => {
    const path = '/vary-normalise-lang-select'
    t.origin.on(path, { headers: { ...varied('Accept-Language'), 'content-language': 'de' }, body: 'de' })
    await t.send(path, { headers: { 'accept-language': 'en, de' } })
    await t.cached(path, { headers: { 'accept-language': 'fr;q=0.5, de;q=1.0' } })
  })

  it('vary-normalise-space: whitespace around list members does not matter', async () => {
    await setup('/vary-normalise-space', 'Foo', { foo: '1,2' })
    await t.cached('/vary-normalise-space', { headers: { foo: ' 1, 2 ' } })
  })
})
