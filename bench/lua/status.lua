-- PATCH /api/v1/requests/{id} {"status": ...}: durable status changes. Walks the ids in
-- order; each pass moves every request open -> in_progress, the next pass back, so every
-- call is a real transition (the ids list is long enough that passes never overlap).
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local i = 0
local pass = 0
function request()
  i = i + 1
  if i > #ids then
    i = 1
    pass = pass + 1
  end
  local status = (pass % 2 == 0) and "in_progress" or "open"
  return wrk.format("PATCH", "/api/v1/requests/" .. ids[i], auth, '{"status":"' .. status .. '"}')
end
