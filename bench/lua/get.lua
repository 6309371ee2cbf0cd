-- GET /api/v1/requests/{id}, rotating over the seeded ids.
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local i = 0
function request()
  i = i % #ids + 1
  return wrk.format("GET", "/api/v1/requests/" .. ids[i], auth)
end
