/**
 * direct: the stub origin alone, no corral: a bare node:http server answering every request with
 * the same 1 KiB body and headers. The floor of what Node does on this machine, and the baseline
 * the comparisons divide by. Its originHits are the requests it answered during the run.
 */
import { countHits, GET, measure, report, Servers, warmUp, type Load, type Options, type Report, type Scenario } from '../lib.js'

/** Measure the stub origin directly, with these response headers and this request. */
export async function measureDirect(options: Options, origin: { cacheControl?: string }, load: Load = GET): Promise<Report> {
  const servers = new Servers(options)
  try {
    const server = await servers.origin(origin)
    const url = `${server.url}/items/1`
    await warmUp(url, options, load)
    const hitsAfterRun = await countHits(server)
    const figures = await measure(url, options, load, [server])
    return report('direct', options, figures, await hitsAfterRun())
  } finally {
    await servers.stop()
  }
}

export const direct: Scenario = {
  name: 'direct',
  description: 'bare node:http server, same 1 KiB body and headers as the origin: the floor',
  run: (options) => measureDirect(options, { cacheControl: 'max-age=3600' }),
}
