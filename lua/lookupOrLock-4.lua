--[[ Read a record; unless it is newer than the one the caller saw, try to become its filler.
  KEYS[1] record        <prefix>{<id>}…:e     ARGV[1] owner token (random)
  KEYS[2] lock          <prefix>{<id>}…:l     ARGV[2] lease ms
  KEYS[3] hit-for-miss  <prefix>{<id>}:h      ARGV[3] version of the record the caller saw ('' for none)
  KEYS[4] outcome       <prefix>{<id>}…:o     ARGV[4] token of the filler the caller waited for ('' for none)
  Returns {1, record}       a record other than the one the caller saw: use it
          {2, reason}       the key is marked hit-for-miss: fetch alone, do not queue
          {3}               the lock is the caller's now: fetch, then store-4 or release-3
          {4, pttl, token}  filler `token` holds the lock for pttl more ms: wait for its message
          {5, message}      the filler the caller waited for has finished without storing, and
                            said this (release-3): a waiter that subscribed late still hears it
  The version is the 12 bytes after the 4-byte header of an encoded record (src/store/codec.ts). ]]
local record = redis.call('GET', KEYS[1])
if record and string.sub(record, 5, 16) ~= ARGV[3] then
  return {1, record}
end
local reason = redis.call('GET', KEYS[3])
if reason then
  return {2, reason}
end
if ARGV[4] ~= '' then
  local outcome = redis.call('GET', KEYS[4])
  local prefix = ARGV[4] .. '|'
  if outcome and string.sub(outcome, 1, #prefix) == prefix then
    return {5, string.sub(outcome, #prefix + 1)}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {3}
end
return {4, redis.call('PTTL', KEYS[2]), redis.call('GET', KEYS[2])}
