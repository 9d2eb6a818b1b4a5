--[[ Read a record; unless it is newer than the one the caller saw, try to become its filler.
  KEYS[1] record        <prefix>{<id>}…:e     ARGV[1] owner token (random)
  KEYS[2] lock          <prefix>{<id>}…:l     ARGV[2] lease ms
  KEYS[3] hit-for-miss  <prefix>{<id>}:h      ARGV[3] version of the record the caller saw ('' for none)
  Returns {1, record}  a record other than the one the caller saw: use it
          {2, reason}  the key is marked hit-for-miss: fetch alone, do not queue
          {3}          the lock is the caller's now: fetch, then store-4 or release-2
          {4, pttl}    another filler holds the lock for pttl more ms: wait for its message
  The version is the 12 bytes after the 4-byte header of an encoded record (src/store/codec.ts). ]]
local record = redis.call('GET', KEYS[1])
if record and string.sub(record, 5, 16) ~= ARGV[3] then
  return {1, record}
end
local reason = redis.call('GET', KEYS[3])
if reason then
  return {2, reason}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {3}
end
return {4, redis.call('PTTL', KEYS[2])}
