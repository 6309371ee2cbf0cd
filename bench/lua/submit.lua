-- POST /api/v1/requests/{id}/items/{item_id}/answer: one answer to one question of a
-- request with 10 items, each call a new submission (kept) and the request's progress
-- updated. Rotates through the "request_id item_id" pairs in $DOCKET_BENCH_PAIRS.
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local pairs_ = {}
local f = io.open(os.getenv("DOCKET_BENCH_PAIRS"), "r")
for line in f:lines() do
  local r, i = line:match("(%S+) (%S+)")
  if r then pairs_[#pairs_ + 1] = { r, i } end
end
f:close()
local n = 0
function request()
  n = n + 1
  local p = pairs_[(n - 1) % #pairs_ + 1]
  return wrk.format("POST", "/api/v1/requests/" .. p[1] .. "/items/" .. p[2] .. "/answer", auth,
    '{"answer":"ACME Ltd, answer ' .. n .. '"}')
end
