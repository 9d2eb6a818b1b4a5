/**
 * Request fields that let a client change what an origin answers without changing the cache key:
 * frameworks and proxies read them to override the host, scheme, port, path or method the origin
 * sees, or the client's address. Sent through a cache, one request with such a field can store the
 * origin's reflection of it (a redirect to another host, another page, a 405) under everybody's
 * key. On a cacheable route corral does not forward them, unless the route keys on them or
 * allows them by name (`cache.forwardHeaders`). corral sets its own X-Forwarded-For/-Proto/-Host
 * and Via (src/stages/fetch/origin-request.ts).
 *
 * Collected from the public "unkeyed input" research (PortSwigger's Param Miner header list,
 * "Practical Web Cache Poisoning", "Web Cache Entanglement") and framework documentation.
 */
export const UNKEYED_OVERRIDES: readonly string[] = [
  // the host the origin believes it serves
  'forwarded',
  'x-forwarded-server',
  'x-host',
  'x-original-host',
  'x-http-host-override',
  'x-host-override',
  'x-forwarded-host-override',
  // scheme and port (http→https redirects, absolute links)
  'x-forwarded-scheme',
  'x-forwarded-port',
  'x-forwarded-ssl',
  'x-forwarded-protocol',
  'x-url-scheme',
  'x-scheme',
  'front-end-https',
  // the path or URL the origin routes on
  'x-forwarded-prefix',
  'x-forwarded-path',
  'x-forwarded-uri',
  'x-forwarded-url',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-override-url',
  'x-proxy-url',
  'x-http-destinationurl',
  'x-envoy-original-path',
  // the method the origin acts on
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  // the client's address (geo or access decisions), when the origin trusts a client's claim
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
]
