/** Debian's Chromium for the browser tests (playwright-core drives it). */
import { accessSync, constants as fsConstants } from 'node:fs'
import { describe, it } from 'vitest'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const INSTALL_HINT = `install it with: apt-get update && apt-get install -y chromium (Debian/Ubuntu; .ci/run does this), or point CHROMIUM_PATH at a Chromium or Chrome binary`

function hasChromium(): boolean {
  try {
    accessSync(CHROMIUM, fsConstants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Like the Redis tests: skipped with a notice on a developer's machine without chromium, a failure in CI. */
export function describeBrowser(name: string, fn: () => void): void {
  if (hasChromium()) {
    describe(name, fn)
    return
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs chromium', () => {
        throw new Error(`no chromium at ${CHROMIUM}: the browser tests must run in CI; ${INSTALL_HINT}`)
      })
    })
    return
  }
  console.warn(`Skipping "${name}": no chromium at ${CHROMIUM}; ${INSTALL_HINT}`)
  describe.skip(name, fn)
}
