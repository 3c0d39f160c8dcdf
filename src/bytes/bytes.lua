-- Bytes for the Lua target (typescript-to-lua bundles this file as the implementation of
-- bytes.d.ts). A Bytes value is a Lua string: immutable, 8-bit clean, hashed and interned, so
-- equality is `==` and views are string.sub copies (cheap for the sizes MQTT handles).
-- Indices follow bytes.d.ts: 0-based, end exclusive. Arrays coming from TypeScript are Lua
-- tables starting at 1. Text strings in Lua are already bytes (the core's strings hold UTF-8),
-- so the UTF-8 functions are identities. Runs unchanged on Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT.
local byte, char, sub, concat = string.byte, string.char, string.sub, table.concat
local unpack = table.unpack or unpack

-- string.char(unpack(t, i, j)) passes every element on the C stack: keep runs short.
local CHUNK = 200

local M = {}

M.EMPTY_BYTES = ""

function M.bytesLength(b)
  return #b
end

function M.byteAt(b, i)
  return byte(b, i + 1)
end

function M.bytesView(b, s, e)
  if s == 0 and e == #b then return b end
  return sub(b, s + 1, e)
end

function M.bytesCopy(b, s, e)
  if s == 0 and e == #b then return b end
  return sub(b, s + 1, e)
end

-- Characters of numbers a[i..j] (1-based, inclusive), in runs of at most CHUNK.
local function charsOf(a, i, j)
  if j - i < CHUNK then return char(unpack(a, i, j)) end
  local parts, n = {}, 0
  while i <= j do
    local k = i + CHUNK - 1
    if k > j then k = j end
    n = n + 1
    parts[n] = char(unpack(a, i, k))
    i = k + 1
  end
  return concat(parts, "", 1, n)
end

function M.bytesFromArray(a, n)
  if n <= 0 then return "" end
  return charsOf(a, 1, n)
end

function M.bytesJoin(parts, count, total)
  if count == 1 then return parts[1] end
  return concat(parts, "", 1, count)
end

function M.bytesEqual(a, b)
  return a == b
end

function M.utf8Encode(s)
  return s
end

function M.utf8Decode(b, s, e)
  if s == 0 and e == #b then return b end
  return sub(b, s + 1, e)
end

function M.utf8Length(s)
  return #s
end

-- Writer: finished string parts plus a run of single bytes not yet turned into a string.
-- { parts = {...}, n = number of parts, bytes = {...}, nb = number of pending bytes }

local function flushBytes(w)
  local nb = w.nb
  if nb == 0 then return end
  local n = w.n + 1
  w.parts[n] = charsOf(w.bytes, 1, nb)
  w.n = n
  w.nb = 0
end

function M.newWriter(capacity)
  return { parts = {}, n = 0, bytes = {}, nb = 0 }
end

function M.writerReset(w)
  -- Parts are overwritten in place; entries past n are never read.
  w.n = 0
  w.nb = 0
end

function M.writerByte(w, b)
  local nb = w.nb + 1
  w.bytes[nb] = b
  w.nb = nb
end

function M.writerBytes(w, b, s, e)
  if e <= s then return end
  flushBytes(w)
  local n = w.n + 1
  if s == 0 and e == #b then
    w.parts[n] = b
  else
    w.parts[n] = sub(b, s + 1, e)
  end
  w.n = n
end

function M.writerString(w, s)
  if #s == 0 then return end
  flushBytes(w)
  local n = w.n + 1
  w.parts[n] = s
  w.n = n
end

function M.writerTake(w)
  flushBytes(w)
  local n, parts = w.n, w.parts
  if n == 0 then return "" end
  local out
  if n == 1 then out = parts[1] else out = concat(parts, "", 1, n) end
  -- Drop the references so payloads are not kept alive by the shared writer.
  for i = 1, n do parts[i] = false end
  w.n = 0
  return out
end

return M
