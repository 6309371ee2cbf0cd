-- POST /api/v1/requests with a distinct title each time. With STOP_AFTER set, the thread
-- stops after that many responses (used to seed an exact number of requests).
dofile(os.getenv("DOCKET_BENCH_LUA") .. "/common.lua")
local n = 0
local stop_after = tonumber(os.getenv("STOP_AFTER") or "0")
function request()
  n = n + 1
  local body = '{"title":"Benchmark request ' .. n .. '","description":"Please send the signed contract and the invoice",'
    .. '"tags":["bench"],"data":{"client":"Acme ' .. (n % 100) .. '","amount":' .. n .. '}}'
  return wrk.format("POST", "/api/v1/requests", auth, body)
end
if stop_after > 0 then
  local done = 0
  function response(status, headers, body)
    done = done + 1
    if done >= stop_after then wrk.thread:stop() end
  end
end
