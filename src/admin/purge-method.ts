/**
 * The nginx/Varnish habit: `PURGE /path` on the client listener purges that URL (every method and
 * variant), `Soft-Purge: 1` marks it stale instead. Off unless `purge.method: true`, and then only
 * from the client addresses in `purge.allow`.
 */
import { BlockList, isIPv6 } from 'node:net'
import type { CidrBlock, PurgeConfig } from '../config/types.js'
import type { RequestContext } from '../context.js'
import type { Runtime } from '../runtime.js'
import { PurgeIncomplete } from '../store/purge.js'
import { purgeOrder } from './purge.js'

const allowLists = new WeakMap<PurgeConfig, BlockList>()

export async function purgeByMethod(rt: Runtime, ctx: RequestContext): Promise<void> {
  const address = ctx.req.socket.remoteAddress ?? ''
  if (!allowed(rt.config.purge, address)) {
    return answer(ctx, 403, { error: { code: 'forbidden', message: `PURGE is not allowed from ${address} (purge.allow)` } })
  }
  const soft = ctx.req.headers['soft-purge'] === '1'
  const url = `http://${ctx.host}${ctx.path}${ctx.query === '' ? '' : `?${ctx.query}`}`
  let entries: number
  try {
    entries = await rt.store.purge(purgeOrder(rt.config, { url, soft }))
  } catch (err) {
    if (!(err instanceof PurgeIncomplete)) throw err
    rt.metrics.purged('url', soft, err.entries)
    return answer(ctx, 503, { error: { code: 'purge-incomplete', message: err.message } })
  }
  rt.metrics.purged('url', soft, entries)
  answer(ctx, 200, { purged: entries })
}

function allowed(purge: PurgeConfig, address: string): boolean {
  let list = allowLists.get(purge)
  if (list === undefined) {
    list = blockList(purge.allow)
    allowLists.set(purge, list)
  }
  // An IPv4 client on a dual-stack socket reads ::ffff:10.0.0.1.
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (v4 !== undefined) return list.check(v4, 'ipv4')
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')
}

function blockList(blocks: readonly CidrBlock[]): BlockList {
  const list = new BlockList()
  for (const b of blocks) list.addSubnet(b.address, b.prefix, b.family)
  return list
}

function answer(ctx: RequestContext, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  ctx.res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  ctx.res.end(text)
}
