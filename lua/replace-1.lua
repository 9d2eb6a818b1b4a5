--[[ Replace a record with a new encoding of it (a soft purge: the same entry, stale from now on),
  only if it is still the version the caller read, and keep its time to live.
  KEYS[1] record  <prefix>{<id>}…:e   ARGV[1] the version read (12 characters, at offset 4 of the value)
                                       ARGV[2] the new value
  Returns 1 replaced; 0 when the record is gone or was stored anew meanwhile (a newer fill wins). ]]
if redis.call('GETRANGE', KEYS[1], 4, 15) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
