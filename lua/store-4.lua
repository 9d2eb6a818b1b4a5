--[[ Store one or two records (an entry, and its vary index) and clear the key's hit-for-miss mark.
  As a flight's filler (a token given): only while the lock is still the caller's, and then the
  lock is released and the waiters are woken in the same step. Without a token: unconditionally.
  KEYS[1] lock          <prefix>{<id>}…:l   ARGV[1] owner token ('' : not a flight's fill)
  KEYS[2] hit-for-miss  <prefix>{<id>}:h    ARGV[2] channel the waiters listen on
  KEYS[3] record        <prefix>{<id>}…:e   ARGV[3] 'PUBLISH' or 'SPUBLISH' (sharded, Redis >= 7)
  KEYS[4] record        <prefix>{<id>}…:e   ARGV[4] message for the waiters
                                            ARGV[5] KEYS[3]'s record   ARGV[6] its ttl ms
                                            ARGV[7] KEYS[4]'s record ('' : one record only)
                                            ARGV[8] its ttl ms
  Returns 1 stored; 0 not stored, because the lock is no longer the caller's (a newer filler
  took it over after the caller's lease ran out: what it stores must not be overwritten). ]]
local token = ARGV[1]
if token ~= '' and redis.call('GET', KEYS[1]) ~= token then
  return 0
end
redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6])
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[8])
end
redis.call('DEL', KEYS[2])
if token ~= '' then
  redis.call('DEL', KEYS[1])
  redis.call(ARGV[3], ARGV[2], ARGV[4])
end
return 1
