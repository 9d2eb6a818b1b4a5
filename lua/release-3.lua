--[[ Let the caller's lock go without storing a record, and tell the waiters what came of it.
  KEYS[1] lock          <prefix>{<id>}…:l   ARGV[1] owner token
  KEYS[2] hit-for-miss  <prefix>{<id>}:h    ARGV[2] channel the waiters listen on
  KEYS[3] outcome       <prefix>{<id>}…:o   ARGV[3] 'PUBLISH' or 'SPUBLISH' (sharded, Redis >= 7)
                                            ARGV[4] message for the waiters
                                            ARGV[5] ms to mark the key hit-for-miss ('0': no mark)
                                            ARGV[6] why it is marked
                                            ARGV[7] ms to keep the message for waiters that were
                                                    still subscribing ('0': do not keep it)
  Returns 1, or 0 when the lock is not the caller's: nothing changes and nobody is told. ]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[5])
end
if tonumber(ARGV[7]) > 0 then
  redis.call('SET', KEYS[3], ARGV[1] .. '|' .. ARGV[4], 'PX', ARGV[7])
end
redis.call(ARGV[3], ARGV[2], ARGV[4])
return 1
