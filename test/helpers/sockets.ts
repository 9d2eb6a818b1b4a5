import { connect, createServer, type Server } from 'node:net'

/** A request written by hand (duplicate fields, absolute-form targets…) to a listener URL, and the raw answer. */
export function rawExchange(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => socket.write(text))
    let data = ''
    socket.on('data', (d: Buffer) => (data += d.toString()))
    socket.on('end', () => resolve(data))
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
  })
}

/** A port held by another program, as when corral is started twice. */
export function occupiedPort(): Promise<Server & { port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve(Object.assign(server, { port: typeof address === 'object' && address !== null ? address.port : 0 }))
    })
  })
}

/** A port nothing listens on right now (the OS's pick), for a process a test starts with an explicit port. */
export async function freePort(): Promise<number> {
  const server = await occupiedPort()
  await new Promise((resolve) => server.close(resolve))
  return server.port
}
