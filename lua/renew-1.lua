--[[ Extend the caller's lease while its fetch runs.
  KEYS[1] lock  <prefix>{<id>}…:l     ARGV[1] owner token     ARGV[2] lease ms
  Returns 1 while the lock is the caller's; 0 when it is not (the lease ran out and another
  filler may have taken it over): the caller stops renewing, and its fill will not be stored. ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
