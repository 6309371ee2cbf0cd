-- Shared by the benchmark scripts: the token and the request ids to rotate through.
token = os.getenv("DOCKET_BENCH_TOKEN")
auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
ids = {}
local ids_file = os.getenv("DOCKET_BENCH_IDS")
local f = ids_file and io.open(ids_file, "r")
if f then
  for line in f:lines() do
    if line ~= "" then ids[#ids + 1] = line end
  end
  f:close()
end
