-- Shared by the benchmark scripts: the token and the request ids to rotate through.
token = os.getenv("DOCKET_BENCH_TOKEN")
auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
ids = {}
local ids_file = os.getenv("DOCKET_BENCH_IDS")
if ids_file then
  for line in io.lines(ids_file) do ids[#ids + 1] = line end
end
