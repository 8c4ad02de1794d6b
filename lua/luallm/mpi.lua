-- llm.mpi: the few MPI calls a sharded evaluation needs, over the optional
-- luallm_mpi module (csrc/mpi/lua_mpi.c, built when Open MPI's mpicc is
-- found). The module is loaded on first use, so require("luallm") never
-- loads libmpi.
--
--   if llm.mpi.launched() then
--     local comm = assert(llm.mpi.init())
--     print(comm.rank, comm.size, comm.local_rank)
--     local all = comm.gather(s)   -- rank 0: {s_0, ..., s_{size-1}}; others: true
--     comm.finalize()
--   end
local M = {}

local core, why

local function load()
  if core or why then return core, why end
  local ok, m = pcall(require, "luallm_mpi")
  if ok then
    core = m
  else
    why = "MPI support is not built (install Open MPI: apt-get install openmpi-bin libopenmpi-dev; then make)"
  end
  return core, why
end

--- llm.mpi.available() -> true, library version | false, why
function M.available()
  local c, w = load()
  if not c then return false, w end
  return true, (c.library:gsub("%s+$", ""))
end

--- Was this process started by mpirun (Open MPI or any PMIx launcher)?
function M.launched()
  return os.getenv("OMPI_COMM_WORLD_SIZE") ~= nil or os.getenv("PMIX_RANK") ~= nil
end

local function env_int(name)
  local v = tonumber(os.getenv(name) or "")
  return v and math.floor(v) or nil
end

--- llm.mpi.init() -> comm | nil, msg. comm: rank (0-based), size, local_rank,
--- local_size (processes of this job on this host), and the collectives
--- barrier(), gather(s), bcast(s) (rank 0's string), finalize(), abort(code).
--- Call comm.finalize() on every rank before exiting: a process that exits
--- without it aborts the whole job (so an error on one rank never hangs the others).
function M.init()
  local c, w = load()
  if not c then return nil, w end
  local ok, err = c.init()
  if not ok then return nil, err end
  local rank, size = c.rank(), c.size()
  return {
    rank = rank,
    size = size,
    local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK") or (size == 1 and 0 or rank),
    local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE") or (size == 1 and 1 or size),
    barrier = c.barrier,
    gather = c.gather,
    bcast = c.bcast,
    finalize = c.finalize,
    abort = c.abort,
  }
end

return M
