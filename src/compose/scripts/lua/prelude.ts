// The Lua side of the scriptlet bindings: builds posix, rpm, io, os and print around the JS
// functions (which answer promises, awaited here), and removes what could reach outside the root
// or the sandbox (dofile, loadfile, require, package, debug, binary chunks).

export const PRELUDE = String.raw`
local X = __xylem
__xylem = nil
local function aw(f)
  return function(...) return f(...):await() end
end
local function wrapall(src)
  local t = {}
  for k, f in pairs(src) do t[k] = aw(f) end
  return t
end
-- rpm's posix module (and rpm.execute) push every number as a float: 0.0, 17.0, not 0, 17.
local function floats(...)
  local t = table.pack(...)
  for i = 1, t.n do
    local v = t[i]
    if math.type(v) == 'integer' then
      t[i] = v + 0.0
    elseif type(v) == 'table' then
      for k, x in pairs(v) do
        if math.type(x) == 'integer' then v[k] = x + 0.0 end
      end
    end
  end
  return table.unpack(t, 1, t.n)
end
local function awf(f)
  return function(...) return floats(f(...):await()) end
end
posix = {}
for k, f in pairs(X.posix) do posix[k] = awf(f) end
rpm = wrapall(X.rpm)
rpm.execute = awf(X.rpm.execute)
rpm.spawn = awf(X.rpm.spawn)
local F = X.io

local File = {}
File.__index = File
File.__name = 'FILE*'
File.__tostring = function(self) return 'file (' .. tostring(self.h) .. ')' end
local function wrapfile(h) return setmetatable({ h = h }, File) end
function File:read(...) return F.fread(self.h, ...):await() end
function File:write(...)
  local ok, e, n = F.fwrite(self.h, ...):await()
  if ok then return self end
  return ok, e, n
end
function File:lines(...)
  local fmts = table.pack(...)
  return function() return F.fread(self.h, table.unpack(fmts, 1, fmts.n)):await() end
end
function File:seek(w, o) return F.fseek(self.h, w or 'cur', o or 0):await() end
function File:flush()
  local ok, e, n = F.fflush(self.h):await()
  if ok then return self end
  return ok, e, n
end
function File:close()
  local ok, e, n = F.fclose(self.h):await()
  self.h = nil
  return ok, e, n
end
function File:setvbuf() return true end

local Std = {}
Std.__index = Std
Std.__name = 'FILE*'
function Std:write(...) F.out(...):await() return self end
function Std:flush() return self end
function Std:close() return true end
function Std:read() return nil end
function Std:lines() return function() return nil end end
function Std:setvbuf() return true end

local sandboxed = function(name, hint)
  return function() error(name .. '() is not supported in a sandboxed scriptlet' .. (hint or ''), 2) end
end

local osx = os
io = {
  stdout = setmetatable({}, Std),
  stderr = setmetatable({}, Std),
  stdin = setmetatable({}, Std),
}
function io.open(path, mode)
  local h, e, n = F.open(path, mode):await()
  if h == nil then return nil, e, n end
  return wrapfile(h)
end
function io.lines(path, ...)
  if path == nil then return function() return nil end end
  local f, e = io.open(path, 'r')
  if not f then error(e, 2) end
  local fmts = table.pack(...)
  if fmts.n == 0 then fmts = { 'l', n = 1 } end
  return function()
    local v = f:read(table.unpack(fmts, 1, fmts.n))
    if v == nil and f.h then f:close() end
    return v
  end
end
function io.write(...) F.out(...):await() return io.stdout end
function io.read() return nil end
function io.close(f) if f then return f:close() end return true end
function io.type(o)
  local mt = getmetatable(o)
  if mt == File then return o.h and 'file' or 'closed file' end
  if mt == Std then return 'file' end
  return nil
end
function io.output() return io.stdout end
function io.input() return io.stdin end
io.popen = sandboxed('io.popen', '; use rpm.execute()')
io.tmpfile = sandboxed('io.tmpfile')

os = {
  date = osx.date, time = osx.time, clock = osx.clock, difftime = osx.difftime, setlocale = osx.setlocale,
  remove = aw(F.remove), rename = aw(F.rename), getenv = aw(F.getenv), execute = aw(F.execute),
  exit = function() error('exit not permitted in this context', 2) end,
  tmpname = sandboxed('os.tmpname'),
}

function print(...)
  local t = table.pack(...)
  local parts = {}
  for i = 1, t.n do parts[i] = tostring(t[i]) end
  F.out(table.concat(parts, '\t') .. '\n'):await()
end

local rawload = load
load = function(chunk, name, mode, env) return rawload(chunk, name, 't', env) end
dofile = nil
loadfile = nil
require = nil
package = nil
debug = nil
`;
