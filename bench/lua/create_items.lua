-- POST /api/v1/requests of the `items10` type (a template of 10 items: 5 questions and
-- 5 documents), so each request is filed with its 10 items copied from the template. The
-- body is create.lua's but for the type, so the two compare the items alone.
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local n = 0
function request()
  n = n + 1
  local body = '{"type":"items10","title":"Benchmark request ' .. n .. '","description":"Please send the signed contract and the invoice",'
    .. '"tags":["bench"],"data":{"client":"Acme ' .. (n % 100) .. '","amount":' .. n .. '}}'
  return wrk.format("POST", "/api/v1/requests", auth, body)
end
