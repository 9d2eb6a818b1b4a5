import { describe, expect, it } from 'vitest'
import { accessLine, type AccessRecord } from '../../src/log.js'

const record: AccessRecord = {
  reqId: 'id "1" \\ \n',
  method: 'GET',
  host: 'api.example:8080',
  path: '/a"b\\c/\u0001/é',
  status: 200,
  cacheStatus: 'HIT',
  reason: undefined,
  route: 'route "x"',
  keyId: 'kY-D79m1wkgHYdHPsizIIF',
  lookupMs: 0.01,
  lockWaitMs: undefined,
  lockRole: undefined,
  originMs: undefined,
  totalMs: 0.12,
  aborted: false,
}

describe('accessLine', () => {
  it('is one line of valid JSON in pino format, whatever bytes the request carried', () => {
    const line = accessLine(record)
    expect(line.endsWith('}\n')).toBe(true)
    expect(line.slice(0, -1)).not.toContain('\n')
    const parsed = JSON.parse(line) as Record<string, unknown>
    expect(parsed).toMatchObject({ level: 30, service: 'corral', msg: 'request', reqId: record.reqId, path: record.path, route: record.route })
    expect(typeof parsed.time).toBe('number')
  })

  it('leaves out fields that are undefined, as pino does', () => {
    const parsed = JSON.parse(accessLine(record)) as Record<string, unknown>
    expect(Object.keys(parsed)).not.toContain('reason')
    expect(Object.keys(parsed)).not.toContain('originMs')
    expect(parsed).toMatchObject({ cacheStatus: 'HIT', keyId: record.keyId, lookupMs: 0.01, totalMs: 0.12, aborted: false })
  })
})
