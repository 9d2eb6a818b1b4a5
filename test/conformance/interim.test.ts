/**
 * Conformance: interim responses (cache-tests module `interim`). Both cases are `optimal`: the
 * interim response reaches the client, and the final response is still stored.
 */
import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { httpDate, pause, useConformance } from './suite.js'

const t = useConformance()

/** GET through corral with node's client, which reports interim responses ('information'). */
function getWithInterim(path: string): Promise<{ interim: Array<{ status: number; headers: Record<string, unknown> }>; status: number }> {
  return new Promise((resolve, reject) => {
    const interim: Array<{ status: number; headers: Record<string, unknown> }> = []
    const req = request(`${t.gateway.urls[0]!}${path}`, (res) => {
      res.resume()
      res.on('end', () => resolve({ interim, status: res.statusCode ?? 0 }))
    })
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('error', reject)
    req.end()
  })
}

describe('interim: optimal', () => {
  it('interim-102: a 102 reaches the client and the final response is stored', async () => {
    const path = '/interim-102'
    t.origin.on(path, { processing: true, headers: { 'cache-control': 'max-age=100000', date: httpDate(0) }, body: 'x' })
    const got = await getWithInterim(path)
    expect(got.status).toBe(200)
    expect(got.interim.map((i) => i.status)).toEqual([102])
    pause()
    await t.cached(path)
  })

  it('interim-103: a 103 reaches the client with all its fields, and the final response is stored', async () => {
    const path = '/interim-103'
    t.origin.on(path, {
      earlyHints: { link: '</styles.css>; rel=preload; as=style', 'x-my-header': 'test' },
      headers: { 'cache-control': 'max-age=100000', date: httpDate(0) },
      body: 'x',
    })
    const got = await getWithInterim(path)
    expect(got.interim).toHaveLength(1)
    expect(got.interim[0]).toMatchObject({
      status: 103,
      headers: { link: '</styles.css>; rel=preload; as=style', 'x-my-header': 'test' },
    })
    pause()
    await t.cached(path)
  })
})
