-- GET /api/v1/requests: the first page (25 newest), alternating with a status filter.
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local i = 0
function request()
  i = i + 1
  if i % 2 == 0 then
    return wrk.format("GET", "/api/v1/requests?limit=25", auth)
  end
  return wrk.format("GET", "/api/v1/requests?limit=25&status=open&sort=updated", auth)
end
