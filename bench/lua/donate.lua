-- The donation form posted by a visitor who loaded the page: CSRF cookie and token from that page.
dofile("bench/lua/report.lua")
local token = os.getenv("BENCH_CSRF_TOKEN")
local cookie = os.getenv("BENCH_CSRF_COOKIE")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken=" .. cookie
wrk.body = "csrfmiddlewaretoken=" .. token ..
  "&amount=25.00&display_name=Bench+donor&message=On+l%C3%A2che+pas&email=&show_amount=on"
