-- An anonymous visitor: a plain GET with no cookies.
dofile("bench/lua/report.lua")
